"""Who spoke when, from audio levels alone (no speech recognition), and what it says of
the lesson: talk time, and the S-T analysis of Chinese teaching research. Pure: levels
and intervals in, figures out; ``recorder.previews`` measures the levels.

Intervals are ``(start, end)`` seconds from the start of the lesson's recording.

**S-T analysis** (S-T分析法, 傅德荣、章慧敏《教育信息处理》, 北京师范大学出版社, 2001;
the usual method of classroom video analysis in Chinese teaching research): the lesson is
sampled at a fixed interval, 30 s by default, and every sample is coded T when the
teacher acts (explains, asks, writes on the board, demonstrates...) and S otherwise:
students speaking, thinking, practising, discussing, and silence too. With N samples,
N_T of them T, and g runs (a run is a maximal stretch of equal codes):

- teacher occupancy 教师行为占有率  Rt = N_T / N
- conversion rate 师生行为转换率    Ch = (g − 1) / N

and the lesson's mode (教学模式), read off the Rt-Ch chart with the usual bounds:
练习型 (practice) Rt ≤ 0.3; 讲授型 (lecture) Rt ≥ 0.7; 对话型 (dialogue) Ch ≥ 0.4 (with
0.3 < Rt < 0.7); 混合型 (mixed) otherwise. Here "the teacher acts" can only be "the
teacher's microphone carries speech": a sample is T when, in a short window around its
moment, the teacher speaks and at least as much as the students (the teacher dominates),
else S.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

Interval = tuple[float, float]

PRACTICE_RT = 0.3  # Rt at or below: practice
LECTURE_RT = 0.7  # Rt at or above: lecture
DIALOGUE_CH = 0.4  # Ch at or above (between the two): dialogue


class TeachingMode(StrEnum):
    """The four modes of the S-T method, valued by their Chinese names."""

    PRACTICE = "练习型"
    LECTURE = "讲授型"
    DIALOGUE = "对话型"
    MIXED = "混合型"


@dataclass(frozen=True)
class TalkTime:
    """Seconds of the lesson by who spoke; ``overlap_s`` is teacher and a student at once,
    ``silence_s`` nobody; ``teacher_ratio`` is teacher/students (``None``: no student spoke)."""

    lesson_s: float
    teacher_s: float
    students_s: float
    per_student: dict[str, float]
    overlap_s: float
    silence_s: float
    teacher_ratio: float | None


@dataclass(frozen=True)
class StAnalysis:
    """The S-T figures of a lesson; ``sequence`` is the coded samples, e.g. ``"TTSST"``."""

    sequence: str
    every_s: float
    n: int
    nt: int
    runs: int
    rt: float
    ch: float
    mode: TeachingMode

    @property
    def ns(self) -> int:
        return self.n - self.nt

    @property
    def curve(self) -> list[tuple[int, int]]:
        """The S-T chart: cumulative (T, S) counts after each sample, from (0, 0)."""
        points = [(0, 0)]
        for code in self.sequence:
            t, s = points[-1]
            points.append((t + 1, s) if code == "T" else (t, s + 1))
        return points


def speech_intervals(
    levels_db: Sequence[float],
    step_s: float,
    threshold_db: float = -40.0,
    min_speech_s: float = 0.5,
    hangover_s: float = 0.3,
    *,
    release_db: float = 6.0,
) -> list[Interval]:
    """Voice activity from a level per ``step_s`` (dBFS): speech starts at a step at or
    above ``threshold_db`` and is sustained while steps stay at or above
    ``threshold_db - release_db`` (hysteresis); it ends ``hangover_s`` after the last such
    step (the hangover keeps word gaps and soft endings inside). Bursts whose sustained
    part is shorter than ``min_speech_s`` (a cough, a chair) are dropped."""
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    total = len(levels_db) * step_s
    found: list[Interval] = []
    start: float | None = None
    active_end = 0.0

    def close() -> None:
        if start is not None and active_end - start >= min_speech_s - 1e-9:
            found.append((round(start, 6), round(min(active_end + hangover_s, total), 6)))

    for i, level in enumerate(levels_db):
        begin = i * step_s
        if start is None:
            if level >= threshold_db:
                start, active_end = begin, begin + step_s
        elif level >= threshold_db - release_db:
            active_end = begin + step_s
        elif begin >= active_end + hangover_s - 1e-9:
            close()
            start = None
    close()
    return found


def talk_time(
    teacher: Iterable[Interval], students: Mapping[str, Iterable[Interval]], lesson_seconds: float
) -> TalkTime:
    """Talk time of the teacher and the students (each classroom's or student's track)."""
    lesson = max(0.0, lesson_seconds)
    spoke = _union(teacher, lesson)
    per_student = {name: _union(found, lesson) for name, found in students.items()}
    pupils = _union((i for found in per_student.values() for i in found), lesson)
    teacher_s = _length(spoke)
    students_s = _length(pupils)
    overlap_s = _length(_intersect(spoke, pupils))
    return TalkTime(
        lesson_s=lesson,
        teacher_s=round(teacher_s, 3),
        students_s=round(students_s, 3),
        per_student={name: round(_length(found), 3) for name, found in per_student.items()},
        overlap_s=round(overlap_s, 3),
        silence_s=round(max(0.0, lesson - (teacher_s + students_s - overlap_s)), 3),
        teacher_ratio=round(teacher_s / students_s, 3) if students_s > 0 else None,
    )


def st_analysis(
    teacher: Iterable[Interval],
    students: Mapping[str, Iterable[Interval]],
    lesson_seconds: float,
    every_s: float = 30.0,
    *,
    window_s: float = 2.0,
) -> StAnalysis:
    """Code the lesson every ``every_s`` seconds (one sample in the middle of each slot,
    the last slot possibly shorter) and compute the S-T figures. A sample is T when, in
    ``window_s`` around it, the teacher speaks at least as long as all students together
    (and at all); with ``window_s=0`` it is T when the teacher speaks at that instant."""
    if lesson_seconds <= 0 or every_s <= 0:
        raise ValueError("lesson_seconds and every_s must be positive")
    spoke = _union(teacher, lesson_seconds)
    pupils = _union((i for found in students.values() for i in found), lesson_seconds)
    n = math.ceil(lesson_seconds / every_s - 1e-9)
    codes = []
    for k in range(n):
        moment = min((k + 0.5) * every_s, (k * every_s + lesson_seconds) / 2)
        if window_s <= 0:
            teaching = any(a <= moment < b for a, b in spoke)
        else:
            window = [(max(0.0, moment - window_s / 2), min(lesson_seconds, moment + window_s / 2))]
            t = _length(_intersect(spoke, window))
            teaching = t > 0 and t >= _length(_intersect(pupils, window))
        codes.append("T" if teaching else "S")
    return st_from_sequence("".join(codes), every_s)


def st_from_sequence(sequence: str, every_s: float = 30.0) -> StAnalysis:
    """The S-T figures of an already coded sequence of ``T`` and ``S`` (an observer's
    hand coding, or ``st_analysis``'s)."""
    if not sequence or set(sequence) - {"T", "S"}:
        raise ValueError("an S-T sequence is a non-empty string of T and S")
    n = len(sequence)
    nt = sequence.count("T")
    runs = 1 + sum(1 for a, b in zip(sequence, sequence[1:], strict=False) if a != b)
    rt = nt / n
    ch = (runs - 1) / n
    return StAnalysis(sequence, every_s, n, nt, runs, rt, ch, st_mode(rt, ch))


def st_mode(rt: float, ch: float) -> TeachingMode:
    """The teaching mode for an Rt and a Ch (Rt bounds first, as on the Rt-Ch chart)."""
    if rt <= PRACTICE_RT:
        return TeachingMode.PRACTICE
    if rt >= LECTURE_RT:
        return TeachingMode.LECTURE
    if ch >= DIALOGUE_CH:
        return TeachingMode.DIALOGUE
    return TeachingMode.MIXED


def _union(intervals: Iterable[Interval], limit: float) -> list[Interval]:
    clipped = sorted((max(0.0, a), min(limit, b)) for a, b in intervals)
    merged: list[Interval] = []
    for a, b in clipped:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    """Both sorted and disjoint (``_union``'s output)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        a, b = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if a < b:
            out.append((a, b))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def _length(intervals: Iterable[Interval]) -> float:
    return sum(b - a for a, b in intervals)
