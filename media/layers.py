"""Which encoding of a source a subscriber gets, from its bandwidth and loss.

Publishers send a high and a low encoding of a source as two tracks (DESIGN.md §5).
Audio always goes first: when the estimate cannot carry the low layer on top of the
audio, video pauses. Hysteresis keeps a subscriber from flapping between layers.
"""

from __future__ import annotations

from dataclasses import dataclass

UPGRADE_HEADROOM = 1.25  # the estimate must exceed the next layer by this factor
HEAVY_LOSS = 0.10  # fraction lost that counts as congestion whatever the estimate
PAUSE_BELOW = 0.6  # pause video when the budget is below this share of the low layer
RESUME_ABOVE = 1.0


@dataclass(frozen=True, slots=True)
class Layer:
    track_id: str
    name: str  # "high" or "low"
    bitrate: float  # measured incoming bits per second


@dataclass(frozen=True, slots=True)
class LayerNeed:
    """What the subscriber can take: its estimate, loss and wish."""

    estimate_bps: float | None  # None: no feedback yet
    fraction_lost: float
    preference: str = "auto"  # auto | high | low
    audio_bps: float = 40_000.0


def choose_layer(layers: list[Layer], need: LayerNeed, current: str | None) -> str | None:
    """The track id to forward (layers sorted high first), or None to pause video.

    ``current`` is the track id forwarded now (None: paused or nothing yet).
    """
    if not layers:
        return None
    allowed = layers
    if need.preference == "low":
        allowed = layers[-1:]
    elif need.preference == "high":
        return layers[0].track_id
    if need.estimate_bps is None:
        return allowed[-1].track_id if current is None else _keep(allowed, current)
    budget = need.estimate_bps - need.audio_bps
    if need.fraction_lost >= HEAVY_LOSS:  # congestion the estimate has not caught up with
        budget *= max(0.0, 1.0 - 2.0 * need.fraction_lost)
    lowest = allowed[-1]
    floor = PAUSE_BELOW if current is not None else RESUME_ABOVE
    if budget < floor * lowest.bitrate:
        return None
    index_now = _index(allowed, current)
    for index, layer in enumerate(allowed):
        fits = budget >= layer.bitrate * (
            1.0 if index_now is not None and index >= index_now else UPGRADE_HEADROOM
        )
        if fits:
            return layer.track_id
    return lowest.track_id


def _index(layers: list[Layer], track_id: str | None) -> int | None:
    for index, layer in enumerate(layers):
        if layer.track_id == track_id:
            return index
    return None


def _keep(layers: list[Layer], current: str) -> str:
    return current if _index(layers, current) is not None else layers[-1].track_id
