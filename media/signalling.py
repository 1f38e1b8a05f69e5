"""The JSON signalling protocol between pages and the SFU (over WebSocket).

The client drives negotiation, so offers never cross (no glare): to publish it adds
sendonly transceivers, to subscribe recvonly ones, and sends one offer that says what
each new ``mid`` is for. The SFU answers. Every message is validated here, before the
SFU sees it; anything wrong raises :class:`SignallingError` with a stable code.

Client → SFU
    {"type": "join", "token": "..."}                       first message
    {"type": "offer", "sdp": "...",
     "publish": {"<mid>": {"source": "camera", "layer": "high"}},
     "subscribe": {"<mid>": "<track id>"}}
    {"type": "subscribe", "mid": "<mid>", "track": "<track id>"}   reuse a transceiver
    {"type": "unsubscribe", "mid": "<mid>"}
    {"type": "layer", "mid": "<mid>", "layer": "auto" | "high" | "low"}
    {"type": "mute", "source": "camera", "muted": true}
    {"type": "ping"} / {"type": "leave"}
SFU → client
    joined, answer, tracks, muted, error {code, message}, pong, bye
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from media.errors import SignallingError
from media.grants import SOURCES

MAX_MESSAGE_BYTES = 256 * 1024
MAX_SDP_BYTES = 200 * 1024
MAX_MIDS = 64
LAYERS = ("high", "low")
PREFERENCES = ("auto", "high", "low")


@dataclass(frozen=True, slots=True)
class Join:
    token: str


@dataclass(frozen=True, slots=True)
class Publication:
    source: str
    layer: str = "high"


@dataclass(frozen=True, slots=True)
class Offer:
    sdp: str
    publish: dict[str, Publication] = field(default_factory=dict)
    subscribe: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Subscribe:
    mid: str
    track: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    mid: str


@dataclass(frozen=True, slots=True)
class LayerPreference:
    mid: str
    layer: str


@dataclass(frozen=True, slots=True)
class Mute:
    source: str
    muted: bool


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Leave:
    pass


Command = Join | Offer | Subscribe | Unsubscribe | LayerPreference | Mute | Ping | Leave


def parse_message(raw: str | bytes) -> Command:
    """Validate one client message; raises :class:`SignallingError`."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise SignallingError("too_large", "signalling message larger than 256 KiB")
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignallingError("bad_json", "signalling message is not JSON") from exc
    if not isinstance(message, dict):
        raise SignallingError("bad_message", "signalling message must be a JSON object")
    kind = message.get("type")
    if kind == "join":
        return Join(_text(message, "token", 4096))
    if kind == "offer":
        return Offer(
            sdp=_sdp(message),
            publish=_publications(message.get("publish", {})),
            subscribe=_subscriptions(message.get("subscribe", {})),
        )
    if kind == "subscribe":
        return Subscribe(_mid(message.get("mid")), _text(message, "track", 128))
    if kind == "unsubscribe":
        return Unsubscribe(_mid(message.get("mid")))
    if kind == "layer":
        layer = message.get("layer")
        if layer not in PREFERENCES:
            raise SignallingError("bad_message", "layer must be auto, high or low")
        return LayerPreference(_mid(message.get("mid")), str(layer))
    if kind == "mute":
        source = message.get("source")
        if source not in SOURCES or not isinstance(message.get("muted"), bool):
            raise SignallingError("bad_message", "mute needs a known source and muted true/false")
        return Mute(str(source), bool(message["muted"]))
    if kind == "ping":
        return Ping()
    if kind == "leave":
        return Leave()
    raise SignallingError("bad_message", f"unknown message type {str(kind)[:40]!r}")


def _text(message: dict[str, Any], key: str, limit: int) -> str:
    value = message.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise SignallingError("bad_message", f"{key} must be a non-empty string")
    return value


def _sdp(message: dict[str, Any]) -> str:
    sdp = message.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP_BYTES:
        raise SignallingError("bad_sdp", "offer.sdp must be an SDP text starting with v=0")
    return sdp


def _mid(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 32:
        raise SignallingError("bad_message", "mid must be a short string")
    return value


def _publications(value: Any) -> dict[str, Publication]:
    if not isinstance(value, dict) or len(value) > MAX_MIDS:
        raise SignallingError("bad_message", "publish must map mids to sources")
    result: dict[str, Publication] = {}
    for mid, spec in value.items():
        if not isinstance(spec, dict):
            raise SignallingError("bad_message", "each publication needs a source")
        source = spec.get("source")
        layer = spec.get("layer", "high")
        if source not in SOURCES or layer not in LAYERS:
            raise SignallingError("bad_message", f"unknown source or layer for mid {str(mid)[:32]}")
        result[_mid(mid)] = Publication(str(source), str(layer))
    return result


def _subscriptions(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_MIDS:
        raise SignallingError("bad_message", "subscribe must map mids to track ids")
    result: dict[str, str] = {}
    for mid, track in value.items():
        if not isinstance(track, str) or not 0 < len(track) <= 128:
            raise SignallingError("bad_message", "each subscription needs a track id")
        result[_mid(mid)] = track
    return result


def error_message(code: str, message: str) -> dict[str, str]:
    return {"type": "error", "code": code, "message": message}


def offer_sections(sdp: str) -> list[tuple[str, str, str]]:
    """(mid, kind, direction) of each audio/video m-section of an offer, in order."""
    sections: list[list[str]] = []
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
            sections.append([kind, "", "sendrecv"])
        elif sections and line.startswith("a=mid:"):
            sections[-1][1] = line[6:].strip()
        elif sections and line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
            sections[-1][2] = line[2:]
    return [
        (mid, kind, direction)
        for kind, mid, direction in sections
        if kind in ("audio", "video") and mid
    ]
