"""Sanke's shared kernel: the live-state ports every package may use.

Event bus (typed events, publish/subscribe), presence (who is in which room, with
expiry) and locks (leases with fencing tokens), each with an in-process adapter for
one machine and a Redis adapter for several app instances. The ports are the
Protocols in ``events``, ``presence`` and ``locks``; ``health`` tracks whether the
backend behind them is reachable. Nothing here knows schools, lessons or media.
"""
