"""Parsing a page's stats report: the exact shape ``SankeMedia.stats()`` sends, nothing else."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.errors import QualityReportInvalid, RoomsError
from rooms.quality_report import ClientReport, parse_report

# What Chromium's page sends (media/static/sfu-client.js, stats()), as JSON.
PAGE_REPORT = """{
  "rtt": 0.043, "availableOutgoingBitrate": 1843000,
  "inbound": [
    {"kind": "video", "mid": "2", "source": "teacher:7/camera", "muted": false,
     "packetsReceived": 5210, "packetsLost": 3, "bytesReceived": 5712333,
     "framesDecoded": 1423, "framesPerSecond": 30, "frameWidth": 640, "frameHeight": 360,
     "freezeCount": 1, "totalFreezesDuration": 0.412, "jitter": 0.004,
     "totalAudioEnergy": 0, "nackCount": 2, "pliCount": 1},
    {"kind": "audio", "mid": "3", "source": null, "muted": false,
     "packetsReceived": 2400, "packetsLost": 0, "bytesReceived": 190000,
     "framesDecoded": 0, "framesPerSecond": 0, "frameWidth": 0, "frameHeight": 0,
     "freezeCount": 0, "totalFreezesDuration": 0, "jitter": 0.0021,
     "totalAudioEnergy": 1.75, "nackCount": 0, "pliCount": 0}
  ],
  "outbound": [
    {"kind": "video", "mid": "0", "source": "camera", "packetsSent": 6000,
     "bytesSent": 6100000, "framesEncoded": 1500, "frameWidth": 1280,
     "qualityLimitationReason": "bandwidth", "nackCount": 4, "pliCount": 2}
  ]
}"""


def page_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(PAGE_REPORT)
    return doc


def test_the_pages_report_parses() -> None:
    report = parse_report(page_doc())
    assert isinstance(report, ClientReport)
    assert report.rtt == 0.043 and report.available_outgoing_bitrate == 1843000
    video, audio = report.inbound
    assert (video.kind, video.mid, video.source, video.expected) == (
        "video",
        "2",
        "teacher:7/camera",
        True,
    )
    assert video.frames_decoded == 1423 and video.total_freezes_duration == 0.412
    assert audio.source is None and not audio.expected and audio.total_audio_energy == 1.75
    (sent,) = report.outbound
    assert (sent.source, sent.bytes_sent, sent.quality_limitation_reason) == (
        "camera",
        6100000,
        "bandwidth",
    )


def test_nulls_and_empty_lists_parse() -> None:
    report = parse_report(
        {"rtt": None, "availableOutgoingBitrate": None, "inbound": [], "outbound": []}
    )
    assert report == ClientReport(None, None, (), ())


def test_unknown_fields_are_ignored() -> None:
    doc = page_doc()
    doc["newerField"] = {"x": 1}
    doc["inbound"][0]["framesReceived"] = 1500
    assert parse_report(doc) == parse_report(page_doc())


def test_whole_floats_are_counters() -> None:
    doc = page_doc()
    doc["inbound"][0]["packetsReceived"] = 5210.0
    assert parse_report(doc).inbound[0].packets_received == 5210


def broken(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    doc = page_doc()
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "report must be an object, not a list"),
        (broken(("inbound",), None), "report.inbound must be a list, not None"),
        (broken(("rtt",), KeyError), "report.rtt is missing"),
        (
            broken(("inbound", 0, "packetsLost"), KeyError),
            "report.inbound[0].packetsLost is missing",
        ),
        (
            broken(("inbound", 1, "packetsLost"), -2),
            "report.inbound[1].packetsLost must be between",
        ),
        (
            broken(("inbound", 0, "jitter"), float("nan")),
            "report.inbound[0].jitter must be between",
        ),
        (broken(("rtt",), float("inf")), "report.rtt must be between 0 and 1e+12, not inf"),
        (broken(("rtt",), "0.04"), "report.rtt must be a number, not '0.04'"),
        (broken(("inbound", 0, "nackCount"), True), "report.inbound[0].nackCount must be a whole"),
        (broken(("inbound", 0, "bytesReceived"), 1.5), "must be a whole number, not 1.5"),
        (broken(("inbound", 0, "bytesReceived"), 2**60), "must be between 0 and 2**53"),
        (
            broken(("inbound", 0, "kind"), "data"),
            "report.inbound[0].kind must be 'audio' or 'video'",
        ),
        (
            broken(("inbound", 0, "muted"), 0),
            "report.inbound[0].muted must be true or false, not 0",
        ),
        (broken(("inbound", 0, "mid"), ""), "report.inbound[0].mid must not be empty"),
        (broken(("inbound", 1, "mid"), "2"), "report.inbound[1].mid '2' repeats report.inbound[0]"),
        (broken(("outbound", 0, "source"), "x" * 500), "at most 128 characters, not 'xxxxx"),
        (broken(("outbound", 0, "qualityLimitationReason"), None), "must be a string, not null"),
        (broken(("inbound",), [{}] * 65), "report.inbound has 65 entries; at most 64"),
        (broken(("outbound", 0), "x"), "report.outbound[0] must be an object, not 'x'"),
    ],
)
def test_malformed_reports_say_what_is_wrong(doc: object, message: str) -> None:
    with pytest.raises(QualityReportInvalid) as caught:
        parse_report(doc)
    assert message in caught.value.message
    assert caught.value.code == "bad_report" and isinstance(caught.value, RoomsError)
    assert len(caught.value.message) < 200  # an untrusted value is never echoed whole


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=30), inner),
    max_leaves=30,
)


@given(JSON)
def test_random_json_is_refused_cleanly(doc: object) -> None:
    try:
        parse_report(doc)
    except QualityReportInvalid:
        pass


FIELDS = [
    (("rtt",),),
    (("availableOutgoingBitrate",),),
    (("inbound",),),
    (("outbound",),),
    *[(("inbound", i, name),) for i in (0, 1) for name in json.loads(PAGE_REPORT)["inbound"][0]],
    *[(("outbound", 0, name),) for name in json.loads(PAGE_REPORT)["outbound"][0]],
]


@given(st.sampled_from(FIELDS), JSON)
def test_one_bad_field_is_refused_cleanly(
    field: tuple[tuple[str | int, ...]], value: object
) -> None:
    doc = broken(field[0], copy.deepcopy(value))
    try:
        report = parse_report(doc)
    except QualityReportInvalid:
        return
    assert isinstance(report, ClientReport)
