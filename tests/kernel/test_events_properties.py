"""Property tests: any event survives the JSON codec; matching agrees with a plain glob."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from kernel.events import channel_matches, decode_event, encode_event
from tests.kernel.events_fixtures import QualitySample, RoomOpened

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(at=moments, bell=moments, room=texts, receivers=st.lists(texts, max_size=5))
def test_room_events_round_trip(
    at: datetime, bell: datetime, room: str, receivers: list[str]
) -> None:
    event = RoomOpened(at=at, room=room, bell=bell, receivers=receivers)
    assert decode_event(encode_event(event)) == event


@given(
    loss=st.floats(allow_nan=False, allow_infinity=False),
    rtt=st.none() | st.integers(-(2**53), 2**53),
)
def test_numbers_round_trip(loss: float, rtt: int | None) -> None:
    event = QualitySample(at=datetime(2026, 1, 1, tzinfo=UTC), room="R", loss=loss, rtt_ms=rtt)
    assert decode_event(encode_event(event)) == event


alphabet = st.sampled_from(list("ab./:_-1*"))


@given(pattern=st.text(alphabet, min_size=1, max_size=8), channel=st.text(alphabet, max_size=10))
def test_star_globs_match_like_fnmatch(pattern: str, channel: str) -> None:
    assert channel_matches(pattern, channel) == fnmatch.fnmatchcase(channel, pattern)
