"""Which encoding of a source a subscriber gets, from its feedback.

Publishers send a high and a low encoding of a source as two tracks (DESIGN.md §5).
A receiver's REMB only grows to about 1.5 × what it already receives, so a subscriber
on the low layer never reports room for the high one: the SFU probes by upgrading.
It goes up one layer when the subscriber shows no congestion, and comes back down
when its REMB falls below what it is being sent (a delay-based overuse) or loss is
heavy, waiting twice as long before the next try each time a try fails. Audio goes
first: when even the low layer does not fit, video pauses.
"""

from __future__ import annotations

from dataclasses import dataclass

HEAVY_LOSS = 0.10  # congestion whatever the estimate says
CLEAN_LOSS = 0.02  # loss low enough to try the next layer up
OVERUSE = 0.8  # REMB below this share of the sent rate: congested (receivers cut to 0.85x)
PAUSE_BELOW = 0.6  # pause video when the budget is below this share of the low layer
GRACE_MS = 3000.0  # after a switch, the estimate needs time to follow
FIRST_TRY_MS = 2000.0
BACKOFF_MS = 4000.0
MAX_BACKOFF_MS = 60_000.0


@dataclass(frozen=True, slots=True)
class Layer:
    track_id: str
    name: str  # "high" or "low"
    bitrate: float  # measured incoming bits per second


@dataclass(frozen=True, slots=True)
class LayerNeed:
    """What the subscriber reports and wants."""

    estimate_bps: float | None  # REMB; None: no feedback yet
    fraction_lost: float
    preference: str = "auto"  # auto | high | low
    sent_bps: float = 0.0  # all the SFU sent this subscriber over the last interval
    audio_bps: float = 40_000.0


@dataclass(slots=True)
class LayerState:
    """One subscriber's probing state."""

    retry_at_ms: float | None = None
    backoff_ms: float = BACKOFF_MS
    switched_at_ms: float = -1e12


def choose_layer(
    layers: list[Layer], need: LayerNeed, current: str | None, state: LayerState, now_ms: float
) -> str | None:
    """The track id to forward (layers sorted high first), or None to pause video."""
    if not layers:
        return None
    if need.preference == "high":
        return layers[0].track_id
    allowed = layers[-1:] if need.preference == "low" else layers
    if state.retry_at_ms is None:  # a new subscriber: start low, try higher soon
        state.retry_at_ms = now_ms + FIRST_TRY_MS
        state.switched_at_ms = now_ms
        return allowed[-1].track_id
    index = _index(allowed, current)
    if _congested(need, now_ms - state.switched_at_ms):
        choice = _fitting(allowed, need)
        if choice != current:
            state.backoff_ms = min(state.backoff_ms * 2, MAX_BACKOFF_MS)
            state.retry_at_ms = now_ms + state.backoff_ms
            state.switched_at_ms = now_ms
        return choice
    if index is None and current is not None:  # the current layer is gone
        return allowed[-1].track_id
    if need.fraction_lost < CLEAN_LOSS and now_ms >= state.retry_at_ms:
        target = allowed[-1] if index is None else allowed[max(index - 1, 0)]
        if target.track_id != current:
            state.retry_at_ms = now_ms + state.backoff_ms
            state.switched_at_ms = now_ms
            return target.track_id
        if now_ms - state.switched_at_ms > MAX_BACKOFF_MS:
            state.backoff_ms = BACKOFF_MS  # stable at the top: forgive old failures
    return current


def _congested(need: LayerNeed, since_switch_ms: float) -> bool:
    if need.fraction_lost >= HEAVY_LOSS:
        return True
    if need.estimate_bps is None or since_switch_ms < GRACE_MS:
        return False
    return need.estimate_bps < OVERUSE * need.sent_bps


def _fitting(layers: list[Layer], need: LayerNeed) -> str | None:
    """The best layer that fits the estimate (after loss), or None to pause video."""
    budget = need.estimate_bps if need.estimate_bps is not None else layers[-1].bitrate * 2
    budget -= need.audio_bps
    if need.fraction_lost >= HEAVY_LOSS:
        budget *= max(0.0, 1.0 - 2.0 * need.fraction_lost)
    for layer in layers:
        if budget >= layer.bitrate:
            return layer.track_id
    if budget < PAUSE_BELOW * layers[-1].bitrate:
        return None
    return layers[-1].track_id


def _index(layers: list[Layer], track_id: str | None) -> int | None:
    for index, layer in enumerate(layers):
        if layer.track_id == track_id:
            return index
    return None
