"""recorder.talk: voice activity from levels, talk time, and the S-T analysis."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.talk import (
    TeachingMode,
    speech_intervals,
    st_analysis,
    st_from_sequence,
    st_mode,
    talk_time,
)

QUIET, LOUD, SOFT = -70.0, -20.0, -44.0  # SOFT: under the threshold, above the release


def levels(*runs: tuple[float, int]) -> list[float]:
    """(level, steps) runs at 100 ms a step."""
    return [level for level, steps in runs for _ in range(steps)]


def test_speech_starts_at_the_threshold_and_ends_after_the_hangover():
    found = speech_intervals(levels((QUIET, 10), (LOUD, 20), (QUIET, 30)), 0.1)
    assert found == [(1.0, 3.3)]


def test_a_soft_stretch_inside_speech_does_not_split_it_but_cannot_start_it():
    assert speech_intervals(levels((LOUD, 10), (SOFT, 20), (LOUD, 10), (QUIET, 10)), 0.1) == [
        (0.0, 4.3)
    ]
    assert speech_intervals(levels((SOFT, 30), (QUIET, 10)), 0.1) == []


def test_pauses_shorter_than_the_hangover_are_bridged():
    bridged = levels((LOUD, 10), (QUIET, 2), (LOUD, 10), (QUIET, 20))
    assert speech_intervals(bridged, 0.1) == [(0.0, 2.5)]
    split = levels((LOUD, 10), (QUIET, 6), (LOUD, 10), (QUIET, 20))
    assert speech_intervals(split, 0.1) == [(0.0, 1.3), (1.6, 2.9)]


def test_short_bursts_are_dropped_and_the_end_is_clipped():
    assert speech_intervals(levels((QUIET, 5), (LOUD, 3), (QUIET, 20)), 0.1) == []
    assert speech_intervals(levels((QUIET, 5), (LOUD, 10)), 0.1) == [(0.5, 1.5)]
    assert speech_intervals([], 0.1) == []
    with pytest.raises(ValueError):
        speech_intervals([LOUD], 0.0)


def test_talk_time():
    teacher = [(0.0, 40.0), (50.0, 60.0)]
    students = {"cs-2": [(35.0, 45.0)], "cs-3": [(44.0, 47.0), (100.0, 200.0)]}
    talk = talk_time(teacher, students, 120.0)
    assert talk.teacher_s == 50.0
    assert talk.per_student == {"cs-2": 10.0, "cs-3": 23.0}
    assert talk.students_s == 32.0  # 35-47 and 100-120, clipped to the lesson
    assert talk.overlap_s == 5.0
    assert talk.silence_s == 120.0 - 77.0
    assert talk.teacher_ratio == pytest.approx(50.0 / 32.0, abs=0.001)
    assert talk_time(teacher, {}, 120.0).teacher_ratio is None


@pytest.mark.parametrize(
    ("sequence", "rt", "ch", "mode"),
    [
        ("TTTTTTTTSS", 0.8, 0.1, TeachingMode.LECTURE),
        ("TSTSTSTSTS", 0.5, 0.9, TeachingMode.DIALOGUE),
        ("SSSSTSSSSS", 0.1, 0.2, TeachingMode.PRACTICE),
        ("TTTTTSSSSS", 0.5, 0.1, TeachingMode.MIXED),
        ("TTTSSSSSSS", 0.3, 0.1, TeachingMode.PRACTICE),  # Rt = 0.3 is still practice
        ("TTTTTTTSSS", 0.7, 0.1, TeachingMode.LECTURE),  # Rt = 0.7 is already lecture
        ("TTSSTTSSTS", 0.5, 0.5, TeachingMode.DIALOGUE),
        ("TTTSSTTSSS", 0.5, 0.3, TeachingMode.MIXED),
    ],
)
def test_st_figures_of_classic_sequences(sequence, rt, ch, mode):
    result = st_from_sequence(sequence)
    assert (result.n, result.rt, result.mode) == (10, rt, mode)
    assert result.ch == pytest.approx(ch)
    assert result.mode == st_mode(result.rt, result.ch)


def test_st_mode_bounds():
    assert st_mode(0.5, 0.4) is TeachingMode.DIALOGUE
    assert st_mode(0.5, 0.39) is TeachingMode.MIXED
    assert st_mode(0.2, 0.5) is TeachingMode.PRACTICE  # Rt decides first
    assert st_mode(0.8, 0.4) is TeachingMode.LECTURE
    assert TeachingMode.DIALOGUE.value == "对话型"


def test_st_analysis_samples_every_thirty_seconds():
    # 5 minutes: the teacher explains 2 min, students answer 1 min, then a dialogue;
    # the last 40 s nobody speaks (silence counts as S)
    teacher = [(0.0, 120.0), (180.0, 200.0), (240.0, 260.0)]
    students = {"cs-2": [(120.0, 180.0), (200.0, 240.0)]}
    result = st_analysis(teacher, students, 300.0)
    assert result.sequence == "TTTTSSTSTS"
    assert (result.n, result.nt, result.runs) == (10, 6, 6)
    assert (result.rt, result.ch, result.mode) == (0.6, 0.5, TeachingMode.DIALOGUE)
    assert result.curve[-1] == (6, 4)
    lecture = st_analysis([(0.0, 250.0)], students, 300.0)
    assert (lecture.sequence, lecture.mode) == ("TTTTTTTTSS", TeachingMode.LECTURE)
    # overlap at a sample: the teacher dominating makes it T, a student dominating S
    both = st_analysis([(0.0, 30.0)], {"s": [(14.5, 15.2)]}, 30.0)
    assert both.sequence == "T"
    drowned = st_analysis([(14.9, 15.1)], {"s": [(0.0, 30.0)]}, 30.0)
    assert drowned.sequence == "S"
    assert st_analysis([(14.9, 15.1)], {}, 30.0, window_s=0).sequence == "T"
    # a last, shorter slot is sampled in its middle
    assert st_analysis([(60.0, 70.0)], {}, 70.0).sequence == "SST"


def test_st_rejects_nonsense():
    with pytest.raises(ValueError):
        st_from_sequence("")
    with pytest.raises(ValueError):
        st_from_sequence("TXS")
    with pytest.raises(ValueError):
        st_analysis([], {}, 0.0)


@given(st.text(alphabet="TS", min_size=1, max_size=200))
def test_st_figures_are_bounded_and_consistent(sequence):
    result = st_from_sequence(sequence)
    assert 0.0 <= result.rt <= 1.0
    assert 0.0 <= result.ch < 1.0
    assert result.runs == len(list(itertools.groupby(sequence)))
    assert result.ch <= 2 * min(result.nt, result.ns) / result.n
    assert result.curve[-1] == (result.nt, result.ns)
    assert len(result.curve) == result.n + 1


intervals = st.lists(
    st.tuples(st.floats(0, 600, allow_nan=False), st.floats(0, 60, allow_nan=False)).map(
        lambda p: (p[0], p[0] + p[1])
    ),
    max_size=20,
)


@given(intervals, st.dictionaries(st.sampled_from(["a", "b", "c"]), intervals), st.floats(1, 900))
def test_talk_time_adds_up(teacher, students, lesson):
    talk = talk_time(teacher, students, lesson)
    assert 0.0 <= talk.overlap_s <= min(talk.teacher_s, talk.students_s) + 1e-6
    assert 0.0 <= talk.silence_s <= lesson + 0.001  # figures are rounded to the ms
    spoken = talk.teacher_s + talk.students_s - talk.overlap_s
    assert spoken + talk.silence_s == pytest.approx(lesson, abs=0.01)
    assert talk.students_s <= sum(talk.per_student.values()) + 0.01
    result = st_analysis(teacher, students, lesson)
    assert result.n == -(-lesson // 30) and 0.0 <= result.rt <= 1.0


@given(st.lists(st.floats(-90.0, 0.0, allow_nan=False), max_size=300))
def test_speech_intervals_are_sorted_disjoint_and_long_enough(levels_db):
    found = speech_intervals(levels_db, 0.1)
    total = len(levels_db) * 0.1
    for start, end in found:
        assert 0.0 <= start < end <= total + 1e-9
        assert end - start >= 0.5 - 1e-9
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(found))
