"""A page's stats report: what ``SankeMedia.stats()`` in ``media/static/sfu-client.js`` sends.

The page condenses ``RTCPeerConnection.getStats()`` (W3C webrtc-stats) every few
seconds into::

    {"rtt": 0.042 | null, "availableOutgoingBitrate": 1500000 | null,
     "inbound": [{"kind", "mid", "source", "muted", "packetsReceived", "packetsLost",
                  "bytesReceived", "framesDecoded", "framesPerSecond", "frameWidth",
                  "frameHeight", "freezeCount", "totalFreezesDuration", "jitter",
                  "totalAudioEnergy", "nackCount", "pliCount"}, ...],
     "outbound": [{"kind", "mid", "source", "packetsSent", "bytesSent", "framesEncoded",
                   "frameWidth", "qualityLimitationReason", "nackCount", "pliCount"}, ...]}

Times are in seconds (``rtt``, ``jitter``, ``totalFreezesDuration``) as in the spec;
counters are cumulative since the stream began. ``source`` is the SFU source id an
inbound mid is subscribed to (``null`` once unsubscribed) or the published source
name (``camera``, ...) of an outbound one. An inbound ``muted`` is true while the SFU
lists the source as muted (or not granted, or no longer published): the SFU then
forwards nothing, and a silent stream is no fault. Every listed field is required; unknown
fields are ignored, so a newer page still reports to an older server.

The report comes from a page, so it is untrusted: :func:`parse_report` checks every
field and raises :class:`~rooms.errors.QualityReportInvalid` with the path of the
first bad one. The body's byte size is the transport's to bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.errors import QualityReportInvalid

MAX_STREAMS = 64  # inbound or outbound entries in one report
MAX_TEXT = 128  # characters in a mid, a source id ("<identity>/<source>"), a reason
MAX_COUNT = 2**53  # JavaScript's largest safe integer
MAX_VALUE = 1e12  # bps, seconds, energy: anything larger is not a measurement
KINDS = ("audio", "video")


@dataclass(frozen=True)
class InboundStats:
    """One received stream (``inbound-rtp``), counters cumulative."""

    kind: str
    mid: str
    source: str | None  # the SFU source id; None when not subscribed
    muted: bool  # the SFU forwards nothing: muted, not granted, or gone
    packets_received: int
    packets_lost: int
    bytes_received: int
    frames_decoded: int
    frames_per_second: float
    frame_width: int
    frame_height: int
    freeze_count: int
    total_freezes_duration: float  # seconds
    jitter: float  # seconds
    total_audio_energy: float
    nack_count: int
    pli_count: int

    @property
    def expected(self) -> bool:
        """Whether media should be arriving: subscribed and not muted."""
        return self.source is not None and not self.muted


@dataclass(frozen=True)
class OutboundStats:
    """One sent stream (``outbound-rtp``), counters cumulative."""

    kind: str
    mid: str
    source: str | None
    packets_sent: int
    bytes_sent: int
    frames_encoded: int
    frame_width: int
    quality_limitation_reason: str  # none | cpu | bandwidth | other
    nack_count: int
    pli_count: int


@dataclass(frozen=True)
class ClientReport:
    rtt: float | None  # seconds, of the selected ICE candidate pair
    available_outgoing_bitrate: float | None  # bits per second
    inbound: tuple[InboundStats, ...]
    outbound: tuple[OutboundStats, ...]


def parse_report(doc: object) -> ClientReport:
    """Check a decoded JSON report and turn it into a :class:`ClientReport`."""
    top = _Fields(doc, "report")
    return ClientReport(
        rtt=top.number("rtt", nullable=True),
        available_outgoing_bitrate=top.number("availableOutgoingBitrate", nullable=True),
        inbound=tuple(_inbound(f) for f in _entries(top, "inbound")),
        outbound=tuple(_outbound(f) for f in _entries(top, "outbound")),
    )


def _inbound(f: _Fields) -> InboundStats:
    return InboundStats(
        kind=f.kind(),
        mid=f.mid(),
        source=f.text_or_none("source"),
        muted=f.flag("muted"),
        packets_received=f.count("packetsReceived"),
        packets_lost=f.count("packetsLost"),
        bytes_received=f.count("bytesReceived"),
        frames_decoded=f.count("framesDecoded"),
        frames_per_second=f.real("framesPerSecond"),
        frame_width=f.count("frameWidth"),
        frame_height=f.count("frameHeight"),
        freeze_count=f.count("freezeCount"),
        total_freezes_duration=f.real("totalFreezesDuration"),
        jitter=f.real("jitter"),
        total_audio_energy=f.real("totalAudioEnergy"),
        nack_count=f.count("nackCount"),
        pli_count=f.count("pliCount"),
    )


def _outbound(f: _Fields) -> OutboundStats:
    return OutboundStats(
        kind=f.kind(),
        mid=f.mid(),
        source=f.text_or_none("source"),
        packets_sent=f.count("packetsSent"),
        bytes_sent=f.count("bytesSent"),
        frames_encoded=f.count("framesEncoded"),
        frame_width=f.count("frameWidth"),
        quality_limitation_reason=f.text("qualityLimitationReason"),
        nack_count=f.count("nackCount"),
        pli_count=f.count("pliCount"),
    )


def _entries(top: _Fields, name: str) -> list[_Fields]:
    value = top.get(name)
    where = f"report.{name}"
    if not isinstance(value, list):
        raise QualityReportInvalid(f"{where} must be a list, not {_show(value)}")
    if len(value) > MAX_STREAMS:
        raise QualityReportInvalid(f"{where} has {len(value)} entries; at most {MAX_STREAMS}")
    entries = [_Fields(v, f"{where}[{i}]") for i, v in enumerate(value)]
    seen: dict[str, str] = {}
    for entry in entries:
        mid = entry.mid()
        if mid in seen:
            raise QualityReportInvalid(f"{entry.where}.mid {mid!r} repeats {seen[mid]}")
        seen[mid] = entry.where
    return entries


class _Fields:
    """Typed access to one JSON object's fields, with the path for error messages."""

    def __init__(self, doc: object, where: str) -> None:
        if not isinstance(doc, dict):
            raise QualityReportInvalid(f"{where} must be an object, not {_show(doc)}")
        self.doc = doc
        self.where = where

    def get(self, name: str) -> object:
        if name not in self.doc:
            raise QualityReportInvalid(f"{self.where}.{name} is missing")
        return self.doc[name]

    def number(self, name: str, *, nullable: bool = False) -> float | None:
        value = self.get(name)
        if value is None and nullable:
            return None
        return self._number(name, value)

    def real(self, name: str) -> float:
        return self._number(name, self.get(name))

    def _number(self, name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise QualityReportInvalid(f"{self.where}.{name} must be a number, not {_show(value)}")
        if not 0 <= value <= MAX_VALUE:  # also false for NaN; no float() of a huge int
            raise QualityReportInvalid(
                f"{self.where}.{name} must be between 0 and {MAX_VALUE:g}, not {_show(value)}"
            )
        return float(value)

    def flag(self, name: str) -> bool:
        value = self.get(name)
        if not isinstance(value, bool):
            raise QualityReportInvalid(
                f"{self.where}.{name} must be true or false, not {_show(value)}"
            )
        return value

    def count(self, name: str) -> int:
        value = self.get(name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 3.0 from a client that wrote counters as floats
        if isinstance(value, bool) or not isinstance(value, int):
            raise QualityReportInvalid(
                f"{self.where}.{name} must be a whole number, not {_show(value)}"
            )
        if not 0 <= value <= MAX_COUNT:
            raise QualityReportInvalid(
                f"{self.where}.{name} must be between 0 and 2**53, not {_show(value)}"
            )
        return value

    def text_or_none(self, name: str) -> str | None:
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise QualityReportInvalid(
                f"{self.where}.{name} must be null or a string of at most {MAX_TEXT} "
                f"characters, not {_show(value)}"
            )
        return value

    def text(self, name: str) -> str:
        value = self.text_or_none(name)
        if value is None:
            raise QualityReportInvalid(f"{self.where}.{name} must be a string, not null")
        return value

    def mid(self) -> str:
        value = self.text("mid")
        if not value:
            raise QualityReportInvalid(f"{self.where}.mid must not be empty")
        return value

    def kind(self) -> str:
        value = self.get("kind")
        if value not in KINDS:
            raise QualityReportInvalid(
                f"{self.where}.kind must be 'audio' or 'video', not {_show(value)}"
            )
        return str(value)


def _show(value: object) -> str:
    """A short, safe rendering of an untrusted value for an error message."""
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    if isinstance(value, int) and abs(value) > 10**24:
        return "a number too large"  # repr of a huge int is slow, or refused past 4300 digits
    if isinstance(value, str):
        return repr(value[:24]) + ("..." if len(value) > 24 else "")
    text = repr(value) if value is None or isinstance(value, bool | int | float) else ""
    if not text:
        return type(value).__name__
    return text if len(text) <= 40 else text[:40] + "..."
