"""Pure RTP/RTCP logic of the forwarding path: parsing, rewriting, keyframes, loss.

Nothing here does I/O or reads a clock; time is an argument (milliseconds).
"""
