"""Events: the codec, unknown types, pattern matching, registration rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kernel.errors import EventDecodeError
from kernel.events import Event, RawEvent, channel_matches, decode_event, encode_event
from tests.kernel.events_fixtures import QualitySample, RoomOpened

BEIJING = timezone(timedelta(hours=8))


def test_an_event_round_trips_through_json_with_its_type_and_datetimes() -> None:
    event = RoomOpened(
        at=datetime(2026, 11, 23, 8, 0, tzinfo=BEIJING),
        room="R1",
        bell=datetime(2026, 11, 23, 8, 10, tzinfo=BEIJING),
        receivers=["杨树湾教学点"],
    )
    text = encode_event(event)
    assert "杨树湾教学点" in text  # readable, not \u-escaped
    assert decode_event(text) == event
    assert event.channel == "test_room.opened/R1"


def test_optional_fields_survive_as_none() -> None:
    event = QualitySample(at=datetime(2026, 1, 1, tzinfo=UTC), room="R", loss=0.5)
    assert decode_event(encode_event(event)) == event


def test_an_unknown_type_decodes_to_a_raw_event_and_re_encodes_unchanged() -> None:
    text = (
        '{"type":"future.thing","key":"R7","id":"abc","at":"2026-11-23T08:00:00+00:00",'
        '"data":{"x":1}}'
    )
    event = decode_event(text)
    assert isinstance(event, RawEvent)
    assert (event.type_name, event.key, event.data) == ("future.thing", "R7", {"x": 1})
    assert event.channel == "future.thing/R7"
    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize(
    "text",
    ["not json", "{}", '{"type":"x.y","at":"yesterday","id":"1","data":{}}', "[1,2]"],
)
def test_malformed_messages_raise_a_decode_error(text: str) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(text)


def test_a_known_type_with_wrong_fields_raises_a_decode_error() -> None:
    text = '{"type":"test_room.opened","key":"R","id":"1","at":"2026-11-23T08:00:00+00:00",'
    with pytest.raises(EventDecodeError):
        decode_event(text + '"data":{"bell":"not a date","room":"R","receivers":[]}}')


@pytest.mark.parametrize(
    ("pattern", "channel", "expected"),
    [
        ("*", "room.opened/R1", True),
        ("room.*", "room.opened/R1", True),
        ("room.*/R1", "room.opened/R1", True),
        ("room.*/R1", "room.opened/R10", False),
        ("*/R1", "quality.sample/R1", True),
        ("room.opened/", "room.opened/", True),
        ("room.opened", "room.opened/R1", False),
        ("a.b/c.d", "aXb/cXd", False),  # '.' is literal
    ],
)
def test_channel_matching(pattern: str, channel: str, expected: bool) -> None:
    assert channel_matches(pattern, channel) is expected


def test_a_type_name_is_registered_once_and_must_look_like_area_verb() -> None:
    with pytest.raises(TypeError, match="already registered"):

        @dataclass(frozen=True, kw_only=True)
        class Again(Event):
            TYPE = "test_room.opened"

    with pytest.raises(TypeError, match="area.verb"):

        @dataclass(frozen=True, kw_only=True)
        class Bad(Event):
            TYPE = "Opened"
