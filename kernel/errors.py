"""Errors raised by the live-state ports.

LiveStateError
├── LiveStateUnavailable   the backend (Redis) cannot be reached; state is degraded
├── InvalidPattern         a subscription pattern uses characters the bus does not accept
└── EventDecodeError       a message on the bus is not a well-formed event
"""


class LiveStateError(Exception):
    """Base class of every error raised by the live-state ports."""


class LiveStateUnavailable(LiveStateError):
    """The live-state backend cannot be reached; callers should degrade, not crash."""


class InvalidPattern(LiveStateError, ValueError):
    """A subscription pattern is not one the bus accepts."""


class EventDecodeError(LiveStateError, ValueError):
    """A message on the bus could not be decoded into an event."""
