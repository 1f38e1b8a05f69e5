"""Who may receive whose media, enforced in LiveKit by taking subscriptions away.

LiveKit grants say what a participant may publish, not who may receive it. A receiving
classroom not called on shows its camera only to the roles in its audience (pupils'
faces are minors' data, ``rooms/media_grants.py``), so every other subscriber is
unsubscribed from its tracks with ``update_subscriptions`` whenever that could have
changed: the grant changed, someone joined, someone published. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from livekit.protocol.room import UpdateSubscriptionsRequest

from media.livekit.reconcile import SeenParticipant


def cuts(
    participants: Mapping[str, SeenParticipant], audiences: Mapping[str, frozenset[str]]
) -> dict[str, list[str]]:
    """The track sids each subscriber must not receive: the tracks of every publisher
    whose audience (roles; empty: everyone) does not hold the subscriber's role."""
    taken: dict[str, list[str]] = {}
    for publisher, audience in audiences.items():
        source = participants.get(publisher)
        if not audience or source is None or not source.tracks:
            continue
        for viewer in participants.values():
            if viewer.identity != publisher and viewer.role not in audience:
                taken.setdefault(viewer.identity, []).extend(sorted(source.tracks))
    return taken


def subscription_updates(
    room: str,
    participants: Mapping[str, SeenParticipant],
    before: Mapping[str, set[str]],
    now: Mapping[str, set[str]],
) -> list[UpdateSubscriptionsRequest]:
    """The requests that take away what is cut ``now`` and give back what no longer is
    (for participants still in the room)."""
    updates = []
    for who in sorted(set(before) | set(now)):
        if who not in participants:
            continue
        taken = sorted(now.get(who, set()))
        given_back = sorted(before.get(who, set()) - now.get(who, set()))
        for sids, subscribe in ((taken, False), (given_back, True)):
            if sids:
                updates.append(
                    UpdateSubscriptionsRequest(
                        room=room, identity=who, track_sids=sids, subscribe=subscribe
                    )
                )
    return updates
