"""The media port on a LiveKit cluster, driven through ``livekit-api`` (DESIGN.md §4, §5).

Like the embedded SFU, it knows rooms, participants, tracks and grants, nothing of
schools or lessons. Pure modules decide (``tokens``, ``audience``, ``reconcile``,
``placement``, and the request builders of ``egress`` and ``ingress``); ``rooms`` and
``webhooks`` act, with a ``LiveKitAPI`` client that whoever opened it injects and closes.
"""
