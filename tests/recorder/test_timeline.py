"""RtpClock: wall-clock time of RTP timestamps, before and after sender reports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.timeline import RtpClock


def test_before_any_report_the_first_frame_anchors_the_track() -> None:
    clock = RtpClock(90_000)
    assert clock.wall(1_000, arrival=1_700_000_000.25) == 1_700_000_000.25
    assert clock.wall(91_000, arrival=1_700_000_009.0) == 1_700_000_001.25  # RTP time counts
    assert clock.wall(46_000, arrival=0.0) == 1_700_000_000.75


def test_the_latest_sender_report_maps_rtp_to_wall_clock() -> None:
    clock = RtpClock(48_000)
    clock.wall(0, arrival=500.0)
    clock.sender_report(1_000.0, 48_000)
    assert clock.wall(96_000, arrival=0.0) == 1_001.0
    assert clock.wall(24_000, arrival=0.0) == 999.5  # a frame from before the report
    clock.sender_report(2_000.0, 96_000)  # the sender's clock moved: the latest report wins
    assert clock.wall(144_000, arrival=0.0) == 2_001.0


def test_a_report_is_taken_at_the_unwrapped_count_nearest_the_frame() -> None:
    clock = RtpClock(90_000)
    clock.sender_report(100.0, 2**32 - 9_000)  # 32 bits on the wire, just before the wrap
    assert clock.wall(2**32 + 9_000, arrival=0.0) == pytest.approx(100.2)
    assert clock.wall(3 * 2**32 + 9_000, arrival=0.0) == pytest.approx(100.2)  # later cycles
    clock.sender_report(200.0, 4_500)  # just after the wrap, the frame still before it
    assert clock.wall(2**32 - 4_500, arrival=0.0) == pytest.approx(199.9)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**20),
    st.integers(-(2**30), 2**30),
    st.sampled_from([8_000, 48_000, 90_000]),
)
def test_any_frame_within_half_the_rtp_range_of_a_report_is_placed_exactly(
    reported: int, cycles: int, offset: int, rate: int
) -> None:
    clock = RtpClock(rate)
    clock.sender_report(1_700_000_000.0, reported)
    timestamp = cycles * 2**32 + reported + offset
    assert clock.wall(timestamp, arrival=0.0) == pytest.approx(1_700_000_000.0 + offset / rate)
