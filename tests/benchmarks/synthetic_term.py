"""A seeded synthetic term of lessons and their event logs, for the indicators benchmark.

The L-tier region of :mod:`tests.benchmarks.synthetic_region` (900 receiving classes,
8 counties) gets a weekly plan that groups each county's classes of one grade into
lessons of two to four receiving classrooms, laid over an autumn term. Each dated
lesson gets the log the live system would write (``rooms.store.RoomStore.append``):
the room opening, who joined and left, the tracks published, ``room.live``, a
``quality.sample`` per participant every ``sample_seconds``, freezes and their
``video_frozen`` alerts, each participant's ``quality.summary`` and the end (as
``web.live_lessons.LiveLessons`` logs them), the recording, inspections; a few lessons are never
opened, or their teacher is absent, never starts, ends early or drops out.

Event data is JSON text exactly as ``RoomStore.append`` stores it: ``json.dumps`` of
the event's fields in their dataclass order (the benchmark checks a few rows against
``RoomStore.append``). Samples are many (≈ 10 M a term), so their figures and
inbound detail are drawn from the distributions once, into pools of pre-rendered
JSON, and picked at random per sample; times are kept in milliseconds.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kernel.events import encode_event
from reports.expected import Layout
from reports.facts import Expected
from rooms.inspections import CHECKLIST
from rooms.quality_summary import QualityTally
from scheduler.calendar import CalendarDay
from scheduler.model import Directory
from scheduler.occurrence import Occurrence, lay_out
from scheduler.plan import Lesson
from tests.benchmarks.synthetic_region import region
from web.pages import BEIJING

#: An event row: milliseconds since the epoch, type, lesson, data as stored (JSON text).
EventRow = tuple[int, str, str, str]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TERM_START = date(2026, 8, 31)  # a Monday
TERM_WEEKS = 18
HOLIDAYS = (  # 国庆 and New Year's Day
    *(date(2026, 10, d) for d in range(1, 8)),
    date(2027, 1, 1),
)
GROUP_SIZES = (2, 3, 3, 4, 4)  # receiving classrooms of one lesson (max_receivers is 4)
POOL = 2048  # pre-rendered samples per kind of page


@dataclass(frozen=True)
class Term:
    directory: Directory
    calendar: tuple[CalendarDay, ...]
    weekly: tuple[Lesson, ...]
    lessons: list[Occurrence]  # the term's, by day and bell
    extra: list[Occurrence]  # one more school day, for the incremental refresh
    first: date
    last: date

    @property
    def extra_day(self) -> date:
        return self.extra[0].day


def weekly_plan(directory: Directory, rng: random.Random) -> tuple[Lesson, ...]:
    """Each county's classes of a grade grouped by subject, each group a weekly lesson
    as often as its neediest class asks, at a slot free for the teacher and the rooms."""
    county_of = {s.id: s.region[:6] for s in directory.schools}
    classes = {c.id: c for c in directory.classes}
    teachers: dict[tuple[str, str], list[str]] = {}
    for t in directory.teachers:
        for subject in t.subjects:
            teachers.setdefault((county_of[t.school_id], subject), []).append(t.id)
    school_of = {t.id: t.school_id for t in directory.teachers}
    wanted: dict[tuple[str, int, str], list[tuple[str, int]]] = {}
    for need in directory.needs:
        cls = classes[need.class_id]
        key = (county_of[cls.school_id], cls.grade, need.subject)
        wanted.setdefault(key, []).append((cls.id, need.periods_per_week))
    slots = [(d, p) for d in range(1, 6) for p in range(1, 7)]
    taken: set[tuple[str, int, int]] = set()  # (teacher or room, day, period)
    load: dict[str, int] = {}
    lessons: list[Lesson] = []
    for (_county, grade, subject), members in sorted(wanted.items()):
        staff = teachers.get((_county, subject), [])
        if not staff:
            continue
        members = sorted(members)
        rng.shuffle(members)
        while members:
            size = rng.choice(GROUP_SIZES)
            group, members = members[:size], members[size:]
            teacher = min(staff, key=lambda t: (load.get(t, 0), t))
            rooms = [classes[c].classroom_id for c, _ in group]
            outputs = [f"{school_of[teacher]}-o{n}" for n in range(2)]
            order = slots[:]
            rng.shuffle(order)
            for _ in range(max(p for _, p in group)):
                for day, period in order:
                    if any((r, day, period) in taken for r in (teacher, *rooms)):
                        continue
                    output = next((o for o in outputs if (o, day, period) not in taken), None)
                    if output is None:
                        continue
                    taken.update((r, day, period) for r in (teacher, output, *rooms))
                    load[teacher] = load.get(teacher, 0) + 1
                    lessons.append(
                        Lesson(f"W{len(lessons) + 1:05d}", day, period, teacher, output,
                               subject, grade, tuple(sorted(c for c, _ in group)))
                    )  # fmt: skip
                    break
    return tuple(lessons)


def build_term(lessons: int, seed: int = 1, plan_id: int = 1) -> Term:
    """``lessons`` dated lessons (fewer if the plan cannot fill them) over at least
    ``TERM_WEEKS`` weeks, plus one more school day."""
    rng = random.Random(seed)
    directory = region("L", seed)
    weekly = weekly_plan(directory, rng)
    calendar = tuple(CalendarDay(d, "holiday") for d in HOLIDAYS)
    per_week = len(weekly)
    weeks = TERM_WEEKS
    available = per_week * len(_school_days(TERM_START, weeks)) / 5
    if available > lessons:  # fewer lessons a week over the same term
        share = lessons / available
        used = rng.sample(weekly, min(per_week, math.ceil(per_week * share * 1.02) + 5))
    else:  # all of them over a longer term
        used = list(weekly)
        while per_week * len(_school_days(TERM_START, weeks)) / 5 < lessons:
            weeks += 1
    last = TERM_START + timedelta(weeks=weeks, days=-3)
    laid = sorted(
        lay_out(directory, plan_id, used, TERM_START, last + timedelta(days=14), calendar),
        key=lambda o: (o.day, o.start, o.id),
    )
    term = [o for o in laid if o.day <= last][:lessons]
    final = term[-1].day
    extra_day = min(o.day for o in laid if o.day > final)
    extra = [o for o in laid if o.day == extra_day]
    return Term(directory, calendar, tuple(used), term, extra, TERM_START, final)


def _school_days(first: date, weeks: int) -> list[date]:
    days = (first + timedelta(days=n) for n in range(weeks * 7))
    return [d for d in days if d.isoweekday() <= 5 and d not in HOLIDAYS]


def expected_lessons(term: Term, occurrences: Sequence[Occurrence]) -> list[Expected]:
    return Layout(term.directory, BEIJING, ()).all(occurrences)


def millis(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


def moment(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


# -- quality samples ----------------------------------------------------------------------


class SamplePool:
    """Pre-rendered ``quality.sample`` data after ``"seconds"``: the figures of one page's
    report and its inbound detail, with ``%s`` where the sources' identities go.

    Kinds: a classroom receiving the teacher (or nothing yet), on a good or a weak
    line, its video frozen or not; the teacher receiving 0-4 classrooms.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.kinds: dict[tuple[str, int, bool, bool], list[tuple[str, dict[str, Any]]]] = {}
        for weak in (False, True):
            for sources, frozen in ((0, False), (1, False), (1, True)):
                self.kinds[("classroom", sources, weak, frozen)] = [
                    self._render("classroom", sources, weak, frozen) for _ in range(POOL)
                ]
        for sources in range(5):
            self.kinds[("teacher", sources, False, False)] = [
                self._render("teacher", sources, False, False) for _ in range(POOL)
            ]

    def pick(self, role: str, sources: int, weak: bool, frozen: bool) -> tuple[str, dict[str, Any]]:
        """A sample's text after ``"seconds"`` and its figures (what a tally counts)."""
        return self.kinds[(role, sources, weak, frozen)][self.rng.getrandbits(11)]

    def _render(
        self, role: str, sources: int, weak: bool, frozen: bool
    ) -> tuple[str, dict[str, Any]]:
        """The JSON after ``"seconds": …, `` with ``%s`` for each source's identity (a
        dict marked with placeholder identities round-trips through ``json.dumps``), and
        the figures without the inbound detail."""
        rng = self.rng
        seconds = 30.0
        each, size = (450.0, (640, 360)) if role == "teacher" else (
            (600.0, (1280, 720)) if weak else (1100.0, (1280, 720)))  # fmt: skip
        inbound: list[dict[str, Any]] = []
        packets = lost = freezes = 0
        freeze_seconds = video_kbps = audio_kbps = jitter = 0.0
        fps_values = []
        for n in range(sources):
            loss = (
                (rng.uniform(0.005, 0.09) if rng.random() < 0.4 else rng.uniform(0, 0.01))
                if weak else (0.0 if rng.random() < 0.7 else rng.uniform(0, 0.004))
            )  # fmt: skip
            vk, ak = round(each * rng.uniform(0.85, 1.1), 1), round(rng.uniform(30, 34), 1)
            n_freezes, frozen_s, fps = 0, 0.0, round(rng.uniform(24, 25.2), 1)
            if frozen:
                n_freezes, frozen_s = rng.randint(1, 3), round(rng.uniform(16, 28), 3)
                fps = round(rng.uniform(1, 6), 1)
            elif rng.random() < (0.08 if weak else 0.012):
                n_freezes, frozen_s = 1, round(rng.uniform(0.3, 2.5), 3)
                fps = round(fps - rng.uniform(1, 3), 1)
            for kind, kbps in (("video", vk), ("audio", ak)):
                got = round(kbps * seconds / 8 / 1.1)
                miss = round(got * loss)
                packets += got + miss
                lost += miss
                video = kind == "video"
                inbound.append({
                    "mid": str(len(inbound)), "kind": kind,
                    "source": f"@{n}@/{'camera' if video else 'microphone'}",
                    "kbps": kbps, "loss": round(miss / (got + miss), 4) if got + miss else 0.0,
                    "fps": fps if video else 0.0, "freezes": n_freezes if video else 0,
                    "freeze_seconds": frozen_s if video else 0.0,
                    "width": size[0] if video else 0, "height": size[1] if video else 0,
                    "energy": 0.0 if video else round(rng.uniform(0.2, 4), 6),
                })  # fmt: skip
            video_kbps += vk
            audio_kbps += ak
            freezes += n_freezes
            freeze_seconds += frozen_s
            fps_values.append(fps)
            jitter = max(jitter, rng.uniform(2, 40 if weak else 15))
        rtt = rng.uniform(150, 520) if weak and rng.random() < 0.5 else rng.uniform(15, 90)
        sent = rng.uniform(1800, 2600) if role == "teacher" else rng.uniform(380, 640)
        data = {
            "video_kbps": round(video_kbps, 1), "audio_kbps": round(audio_kbps, 1),
            "sent_kbps": round(sent, 1), "packets": packets,
            "loss": round(lost / packets, 4) if packets else 0.0,
            "rtt_ms": None if rng.random() < 0.01 else round(rtt, 1),
            "jitter_ms": round(jitter, 1),
            "fps": round(sum(fps_values) / len(fps_values), 1) if fps_values else None,
            "freezes": freezes, "freeze_seconds": round(freeze_seconds, 3), "inbound": inbound,
        }  # fmt: skip
        text = json.dumps(data)[1:-1]
        for n in range(sources):
            text = text.replace(f"@{n}@", "%s")
        del data["inbound"]
        return text, data


def sample_text(lesson: str, identity: str, seconds: str, rest: str) -> str:
    """A sample's data as ``json.dumps`` writes it (fields in QualitySample's order)."""
    return f'{{"lesson": "{lesson}", "identity": "{identity}", "seconds": {seconds}, {rest}}}'


# -- the event logs ---------------------------------------------------------------------


@dataclass
class _Stay:
    identity: str
    spans: list[tuple[int, int]]  # ms
    weak: bool = False
    frozen: tuple[int, int] | None = None  # a stretch of frozen video (an alert)
    publishes: bool = True

    def present(self, t: int) -> bool:
        return any(a <= t < b for a, b in self.spans)


@dataclass
class LogWriter:
    """Event rows of lessons, seeded. ``sample_seconds`` is the pages' report interval."""

    seed: int
    sample_seconds: float = 30.0
    next_inspection: int = 1
    rng: random.Random = field(init=False)
    pool: SamplePool = field(init=False)
    _steps: list[tuple[int, str]] = field(init=False)
    _tallies: dict[str, QualityTally] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.pool = SamplePool(random.Random(self.seed * 7919))
        step = self.sample_seconds
        # a page reports every ``step`` s or a little sooner (never later: a longer gap
        # than the monitor's max_interval would start afresh)
        self._steps = [
            (round(s * 1000), repr(s))
            for s in (round(step - k / 1000, 3) for k in range(0, 512, 8))
        ]

    def event_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def lesson(self, e: Expected) -> tuple[list[EventRow], list[dict[str, Any]]]:
        """The lesson's events (in time order) and its inspections' rows."""
        rng = self.rng
        lid = e.lesson
        rows: list[EventRow] = []
        dumps = json.dumps
        self._tallies = {}

        def add(at: int, event_type: str, /, **data: Any) -> None:
            rows.append((at, event_type, lid, dumps(data)))

        bell = millis(e.starts_at)

        def minutes(m: float) -> int:
            return bell + round(m * 60_000)

        fate = rng.random()
        if fate < 0.02:  # the platform was not running: nothing at all
            return [], []
        add(minutes(-10), "room.opened", lesson=lid)
        teacher = e.teacher_identity
        period = (e.ends_at - e.starts_at).total_seconds() / 60
        ended_by, end = "time", period + 10  # the room closes ten minutes after the bell
        stays: list[_Stay] = []
        live: int | None = None
        if fate >= 0.045:  # the teacher came
            came = rng.uniform(-8, -1) if rng.random() < 0.93 else rng.uniform(0, 4)
            spans: list[tuple[float, float]]
            if fate < 0.085:  # and ended the lesson early
                end, ended_by = rng.uniform(8, 30), "teacher"
                spans = [(came, end)]
            elif fate < 0.1:  # and dropped out for a long time
                gone = rng.uniform(8, 20)
                spans = [(came, gone), (gone + rng.uniform(12, 25), period + rng.uniform(0, 2))]
            else:
                if rng.random() < 0.12:  # ended a few minutes early: still held
                    end, ended_by = period - rng.uniform(1, 5), "teacher"
                    spans = [(came, end)]
                else:
                    spans = [(came, period + rng.uniform(0, 3))]
                if rng.random() < 0.06:  # a short network loss
                    a, b = spans[0]
                    cut = rng.uniform(a + 5, b - 5)
                    spans[:1] = [(a, cut), (cut + rng.uniform(0.3, 2), b)]
            started = not 0.045 <= fate < 0.055  # else the camera never came on
            stays.append(_Stay(teacher, [(minutes(a), minutes(b)) for a, b in spans],
                               publishes=started))  # fmt: skip
            if started:
                live = minutes(spans[0][0]) + round(rng.uniform(2, 40) * 1000)
        closes = minutes(end)
        for receiver in e.receivers:
            r = rng.random()
            identity = receiver.identity
            if r < 0.04:  # never came
                add(minutes(2), "attendance.alert", lesson=lid, identity=identity, active=True)
                continue
            came = rng.uniform(3, 12) if r < 0.14 else rng.uniform(-6, -0.5)
            leave = min(end, period + rng.uniform(0, 2))
            if r > 0.98:  # left early
                leave = min(end, rng.uniform(max(came + 2, 20), 38))
            spans = [(came, leave)]
            if 0.14 <= r < 0.22 and leave - came > 12:  # dropped and came back
                cut = rng.uniform(came + 4, leave - 6)
                spans = [(came, cut), (cut + rng.uniform(0.5, 4), leave)]
            if came > 2:
                add(minutes(2), "attendance.alert", lesson=lid, identity=identity, active=True)
                add(minutes(came), "attendance.alert", lesson=lid, identity=identity,
                    active=False)  # fmt: skip
            stay = _Stay(identity, [(minutes(a), minutes(b)) for a, b in spans],
                         weak=rng.random() < 0.15)  # fmt: skip
            if rng.random() < 0.05 and leave - came > 10:
                start = rng.uniform(came + 2, leave - 5)
                stay.frozen = (minutes(start), minutes(start + rng.uniform(0.7, 3)))
            stays.append(stay)
        teacher_stay = next((s for s in stays if s.identity == teacher), None)
        for stay in stays:
            role = "teacher" if stay is teacher_stay else "receiving_classroom"
            for n, (a, b) in enumerate(stay.spans):
                add(a, "media.joined", room=lid, identity=stay.identity, role=role, hidden=False,
                    rejoined=n > 0)  # fmt: skip
                if stay.publishes:
                    for source, kind in (("camera", "video"), ("microphone", "audio")):
                        add(a + 1500, "media.published", room=lid, identity=stay.identity,
                            track=f"{stay.identity}/{source}", source=source,
                            layer="h" if kind == "video" else "", kind=kind,
                            codec="VP8" if kind == "video" else "opus")  # fmt: skip
                reason = "lost" if n + 1 < len(stay.spans) else "left"
                if b > closes:
                    b, reason = closes, "removed"
                add(b, "media.left", room=lid, identity=stay.identity, reason=reason)
                self._samples(rows, lid, stay, a, b, live, teacher_stay, stays)
        if live is not None:
            add(live, "room.live", lesson=lid)
        if rng.random() < 0.3:
            add(minutes(rng.uniform(5, 30)), "room.chat", lesson=lid, identity=teacher,
                name="老师", text="请同学们打开课本第二十页。")  # fmt: skip
        ended = moment(closes)  # each participant's quality summary, logged with the end
        for identity, tally in sorted(self._tallies.items()):
            summary = json.loads(encode_event(tally.summary(lid, identity, ended)))["data"]
            rows.append((closes, "quality.summary", lid, dumps(summary)))
        add(closes, "room.ended", lesson=lid, reason=ended_by)
        add(closes + 300_000, "room.archived", lesson=lid)
        if live is not None and rng.random() < 0.9:
            tracks = [f"{s.identity}/{src}" for s in stays for src in ("camera", "microphone")]
            add(closes + round(rng.uniform(3, 20) * 60_000), "recording.ready", lesson=lid,
                duration=round((closes - live) / 1000, 3), tracks=tracks, skipped=[],
                missing=[])  # fmt: skip
        inspections = []
        if live is not None and rng.random() < 0.1:
            for _ in range(1 if rng.random() < 0.85 else 2):
                at = minutes(rng.uniform(3, 35))
                scores = {item: rng.choice((2, 3, 4, 4, 5, 5)) for item in CHECKLIST
                          if rng.random() < 0.95} or {CHECKLIST[0]: 4}  # fmt: skip
                notes = "互动较好" if rng.random() < 0.5 else ""
                number = self.next_inspection
                self.next_inspection += 1
                seconds = max(0, (at - bell) // 1000)
                inspector = f"巡课员{number % 5}"
                fields = {"inspector": inspector, "moment_seconds": seconds, "scores": scores,
                          "notes": notes}  # fmt: skip
                inspections.append({"id": number, "lesson": lid, "inspector_id": 2 + number % 5,
                                    "at": moment(at), **fields})  # fmt: skip
                add(at, "inspection.recorded", lesson=lid, inspection_id=number, **fields)
        rows.sort(key=lambda row: row[0])
        return rows, inspections

    def _samples(
        self, rows: list[EventRow], lid: str, stay: _Stay, a: int, b: int,
        live: int | None, teacher: _Stay | None, stays: list[_Stay],
    ) -> None:  # fmt: skip
        """The page's reports from ``a`` to ``b``: the first a baseline, each next one a
        sample over the interval since; ``video_frozen`` raised and cleared around a
        stretch of frozen video."""
        rng, pick, steps = self.rng, self.pool.pick, self._steps
        is_teacher = stay is teacher
        role = "teacher" if is_teacher else "classroom"
        others = [s for s in stays if s is not stay]
        t = a + rng.randint(1000, 4000)
        alerted = False
        frozen_from, frozen_to = stay.frozen or (0, 0)
        tally = self._tallies.get(stay.identity)
        if tally is None:
            tally = self._tallies[stay.identity] = QualityTally()
        while True:
            step, seconds = steps[rng.getrandbits(6)]
            t += step
            if t >= b:
                break
            if is_teacher:
                names = tuple(s.identity for s in others if s.present(t))
            elif live is not None and live <= t and teacher is not None and teacher.present(t):
                names = (teacher.identity,)
            else:
                names = ()
            frozen = bool(names) and frozen_from <= t <= frozen_to
            rest, figures = pick(role, len(names), stay.weak, frozen)
            if names:
                rest %= tuple(n for name in names for n in (name, name))  # camera, microphone
            rows.append((t, "quality.sample", lid, sample_text(lid, stay.identity, seconds, rest)))
            # as the fold reads the log: the alert raised below comes after this sample
            tally.count(moment(t), {**figures, "seconds": float(seconds)}, alerted)
            if frozen and not alerted:
                alerted = True
                rows.append((t, "quality.alert", lid, json.dumps({
                    "lesson": lid, "identity": stay.identity, "alert": "video_frozen",
                    "active": True, "detail": "video froze 20.0 s of the last 10 s"})))  # fmt: skip
            elif alerted and not frozen:
                alerted = False
                rows.append((t, "quality.alert", lid, json.dumps({
                    "lesson": lid, "identity": stay.identity, "alert": "video_frozen",
                    "active": False, "detail": "back after 60 s"})))  # fmt: skip
        if alerted:
            rows.append((b, "quality.alert", lid, json.dumps({
                "lesson": lid, "identity": stay.identity, "alert": "video_frozen",
                "active": False, "detail": "participant left"})))  # fmt: skip


# -- loading -----------------------------------------------------------------------------


class Stamps:
    """``timestamptz`` text of millisecond times, quickly (a day's prefix is cached)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86400)]
        self._ms = [f"{m:03d}+00" for m in range(1000)]

    def __call__(self, ms: int) -> str:
        day, rest = divmod(ms, 86_400_000)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = f"{(EPOCH + timedelta(days=day)).date()} "
        return prefix + self._clock[rest // 1000] + self._ms[rest % 1000]


def copy_lines(rows: Sequence[EventRow], ids: Iterator[str], stamp: Callable[[int], str]) -> str:
    """``COPY lesson_events (event_id, at, type, lesson, data)`` text for ``rows``
    (backslashes doubled: ``json.dumps`` writes ``\\uXXXX`` for Chinese)."""
    return "".join(
        f"{next(ids)}\t{stamp(at)}\t{kind}\t{lesson}\t"
        f"{data.replace(chr(92), chr(92) * 2) if chr(92) in data else data}\n"
        for at, kind, lesson, data in rows
    )
