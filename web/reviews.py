"""Reviewing recorded lessons (教研 / 评课): who may see which recording, what the review
page is given, and the comments, scores, clips and research groups behind it.

A recording's id is its lesson's id. Who may see it: the lesson's own teacher; staff
whose role may view recordings and whose scope covers one of the lesson's schools (a
teacher only sees other teachers' lessons through a research group); and every member
of a research group it is shared with. Who may comment and score: the lesson's teacher
(教学反思), researchers and admins in scope, and the members of a group that shares it.
A recording the reader may not see is answered as if it did not exist (404). Every
opening of a recording is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from identity.audit import Outcome
from identity.authorize import authorize
from identity.roles import REGION_ROLES, Action, Role
from identity.scope import region_prefix
from identity.service import Actor, IdentityService
from identity.users import User
from recorder.deletions import DeletionLog
from recorder.groups import Clip, Group, Session, check_clip, check_session
from recorder.jobs import Job, JobQueue, JobState
from recorder.review import (
    Category,
    Comment,
    NewComment,
    Reply,
    check_comment,
    check_text,
    may_read,
)
from recorder.review_errors import ReviewInvalid, ReviewNotFound, ReviewRefused
from recorder.review_store import ReviewStore
from recorder.rubrics import Rubric, Rubrics, summarize
from recorder.storage import Storage
from recorder.worker import ASSETS, CLIP_PREFIX
from rooms.errors import LessonRefused
from rooms.lesson import LessonView
from web.file_links import file_link
from web.live_lessons import LiveLessons
from web.live_room import day_of
from web.pages import BEIJING

ASSETS_FILE = "assets.json"
MANIFEST = "recording.json"
KIND_LABELS = {"camera": "摄像头", "screen": "课件", "microphone": "麦克风",
               "screen_audio": "课件声音"}  # fmt: skip
KIND_LABELS_EN = {"camera": "camera", "screen": "courseware", "microphone": "microphone",
                  "screen_audio": "courseware audio"}  # fmt: skip
MIME = {".mp4": "video/mp4", ".webm": "video/webm", ".m4a": "audio/mp4"}
STATES = {JobState.DONE: "ready", JobState.FAILED: "failed",
          JobState.QUEUED: "processing", JobState.RUNNING: "processing"}  # fmt: skip
MAX_LISTED = 500
MAX_CANDIDATES = 20
MEMBER_ROLES = frozenset({Role.TEACHER, Role.RESEARCHER, Role.ADMIN})  # who may join a group


@dataclass(frozen=True)
class Access:
    """What a reader may do with one recording."""

    view: LessonView
    groups: frozenset[int]  # the reader's groups that share the recording
    can_review: bool
    own: bool  # the lesson's teacher


class Reviews:
    def __init__(
        self,
        store: ReviewStore,
        jobs: JobQueue,
        lessons: LiveLessons,
        identity: IdentityService,
        storage: Storage,
        deletions: DeletionLog,
        link_key: bytes,
        rubrics: Rubrics,
        clock: Callable[[], datetime],
        today: Callable[[], date],
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.lessons = lessons
        self.identity = identity
        self.storage = storage
        self.deletions = deletions
        self.link_key = link_key
        self.rubrics = rubrics
        self.now = clock
        self.today = today

    # --- access ----------------------------------------------------------------------

    def access(self, user: User, recording: str) -> Access:
        """The reader's access to ``recording``, or ``ReviewNotFound``."""
        try:
            view = self.lessons.view(recording)
        except LessonRefused as error:
            raise ReviewNotFound(f"no recording {recording}") from error
        mine = {g.id for g in self.store.groups_of(user.id)}
        shared = frozenset(self.store.groups_sharing(recording) & mine)
        own = _own(user, view)
        if not (own or _staff(user, view) or shared):
            raise ReviewNotFound(f"no recording {recording}")
        reviewer = authorize(user.principal(), Action.RECORDING_REVIEW, view.target()).allowed
        return Access(view, shared, own or reviewer or bool(shared), own)

    def _reviewer(self, user: User, recording: str) -> Access:
        access = self.access(user, recording)
        if not access.can_review:
            raise ReviewRefused("not_reviewer", "you may watch this recording but not review it")
        return access

    # --- listing ---------------------------------------------------------------------

    def state(self, recording: str) -> str | None:
        """``recording`` (capture under way or not yet processed), ``processing``,
        ``ready`` or ``failed``; ``None`` when there is no recording of the lesson."""
        if self.deletions.deleted([recording]):
            return None  # removed by the retention policy (logged)
        job = self.jobs.find(recording, ASSETS)
        if job is not None:
            return STATES[job.state]
        return "recording" if self.storage.exists(f"recordings/{recording}/{MANIFEST}") else None

    def listing(self, user: User, query: str = "") -> list[dict[str, Any]]:
        """The recordings the reader may see, newest first, as the list page shows them."""
        jobs: dict[str, Job] = {j.recording: j for j in self.jobs.of_kind(ASSETS)}
        today = self.today()
        candidates = set(jobs)
        for view in self.lessons.lessons_between(today, today):
            if view.id not in jobs and self.storage.exists(f"recordings/{view.id}/{MANIFEST}"):
                candidates.add(view.id)
        views = self.views(candidates - self.deletions.deleted(candidates))
        shared = {r for g in self.store.groups_of(user.id) for r in g.recordings}
        rows = []
        for view in sorted(views.values(), key=lambda v: v.starts_at, reverse=True):
            if not (_own(user, view) or _staff(user, view) or view.id in shared):
                continue
            text = f"{view.subject} {view.teacher_name} {view.output_school_name}"
            if query and query.strip() not in text:
                continue
            rows.append(view)
            if len(rows) >= MAX_LISTED:
                break
        counts = self.store.comment_counts(v.id for v in rows)
        exemplary = self.store.exemplary(v.id for v in rows)
        out = []
        for view in rows:
            job = jobs.get(view.id)
            result = job.result if job is not None and job.state is JobState.DONE else None
            out.append({
                **self._lesson_facts(view),
                "state": STATES[job.state] if job is not None else "recording",
                "progress": job.progress if job is not None else None,
                "duration": (result or {}).get("duration"),
                "exemplary": view.id in exemplary,
                "comments": counts.get(view.id, 0),
                "thumbnail": self._thumbnail(view.id) if result else None,
            })  # fmt: skip
        return out

    def views(self, recordings: set[str]) -> dict[str, LessonView]:
        """The lessons of ``recordings`` (ids whose lessons are in the timetable)."""
        days = sorted({d for r in recordings if (d := day_of(r)) is not None})
        if not days:
            return {}
        found = self.lessons.lessons_between(days[0], days[-1])
        return {v.id: v for v in found if v.id in recordings}

    def _thumbnail(self, recording: str) -> str | None:
        assets = self._assets(recording)
        for track in (assets or {}).get("tracks", {}).values():
            previews = track.get("previews")
            if track.get("source", "").endswith("/camera") and previews and previews["thumbnails"]:
                thumbs = previews["thumbnails"]
                return self._link(recording, thumbs[min(len(thumbs) - 1, 6)])
        return None

    # --- one recording ---------------------------------------------------------------

    def open(self, user: User, recording: str, lang: str, address: str | None) -> dict[str, Any]:
        """What the review page shows; audited as ``recording.view``."""
        access = self.access(user, recording)
        view = access.view
        state = self.state(recording)
        if state is None:
            raise ReviewNotFound(f"no recording {recording}")
        assets = self._assets(recording) if state == "ready" else None
        tracks = self._tracks(recording, view, assets, lang) if assets else []
        rubric = self.rubric(view)
        groups = self.store.groups_of(user.id)
        self.identity.record(
            Actor(user.principal(), user.username, address), "recording.view", recording,
            sorted(view.target().regions)[0] if view.target().regions else None,
            Outcome.SUCCESS, self.now(), {"lesson": recording},
        )  # fmt: skip
        composite = (
            self._link(recording, "composite.mp4")
            if self.storage.exists(f"assets/{recording}/composite.mp4")
            else None
        )
        return {
            **self._lesson_facts(view),
            "state": state,
            "exemplary": recording in self.store.exemplary([recording]),
            "duration": assets["duration"] if assets else None,
            "tracks": tracks,
            "talk": assets.get("talk") if assets else None,
            "st": assets.get("st") if assets else None,
            "composite": composite,
            "rubric": rubric.as_json(),
            "categories": [c.value for c in Category],
            "me": {
                "user_id": user.id,
                "name": user.display_name,
                "can_review": access.can_review,
                "groups": [{"id": g.id, "name": g.name} for g in groups if g.id in access.groups],
            },  # fmt: skip
            "clips": self.clips(user, recording),
        }

    def rubric(self, view: LessonView) -> Rubric:
        return self.rubrics.for_regions(view.target().regions)

    def duration(self, recording: str) -> float | None:
        assets = self._assets(recording)
        return float(assets["duration"]) if assets else None

    def _assets(self, recording: str) -> dict[str, Any] | None:
        key = f"assets/{recording}/{ASSETS_FILE}"
        if not self.storage.exists(key):
            return None
        with self.storage.open(key) as file:
            doc: dict[str, Any] = json.loads(file.read().decode("utf-8"))
        return doc

    def _tracks(
        self, recording: str, view: LessonView, assets: Mapping[str, Any], lang: str
    ) -> list[dict[str, Any]]:
        labels = KIND_LABELS_EN if lang == "en" else KIND_LABELS
        tracks = []
        for name, track in sorted(assets["tracks"].items()):
            if "error" in track:
                continue
            identity, _, kind = str(track["source"]).partition("/")
            file = str(track["file"])
            previews = track.get("previews")
            audio = track.get("audio")
            is_video = previews is not None or kind in ("camera", "screen")
            mime = MIME.get(file[file.rfind(".") :], "video/mp4")
            if not is_video:
                mime = mime.replace("video/", "audio/")
            tracks.append({
                "name": name, "source": track["source"], "identity": identity, "kind": kind,
                "role": "teacher" if identity.startswith("teacher:") else "classroom",
                "label": f"{view.name_of(identity)} · {labels.get(kind, kind)}",
                "url": self._link(recording, file), "type": mime,
                "codec": track.get("codec"), "offset": track.get("offset", 0.0),
                "duration": track["duration"],
                "previews": {
                    "every_s": previews["every_s"],
                    "sprite": self._link(recording, previews["sprite"]),
                    "vtt": self._link(recording, previews["index"]),
                    "thumbnails": [self._link(recording, t) for t in previews["thumbnails"]],
                } if previews else None,
                "waveform": self._link(recording, audio["waveform"]) if audio else None,
                "waveform_step_s": audio["step_s"] if audio else None,
            })  # fmt: skip
        return tracks

    def _link(self, recording: str, path: str) -> str:
        return file_link(self.link_key, recording, path, self.now())

    @staticmethod
    def _lesson_facts(view: LessonView) -> dict[str, Any]:
        return {
            "recording": view.id, "subject": view.subject, "grade": view.grade,
            "mode": view.mode.value, "teacher": view.teacher_name,
            "school": view.output_school_name, "day": view.day,
            "starts_at": view.starts_at.isoformat(),
            "receivers": [{"classroom": r.classroom_id, "school": r.school_name}
                          for r in view.receivers],
        }  # fmt: skip

    def mark_exemplary(self, user: User, recording: str, exemplary: bool) -> None:
        access = self.access(user, recording)
        if user.role not in (Role.ADMIN, Role.RESEARCHER):
            raise ReviewRefused("role", "only admins and researchers mark exemplary lessons")
        self.store.mark_exemplary(access.view.id, exemplary, user.username, self.now())

    # --- comments --------------------------------------------------------------------

    def comments(self, user: User, recording: str) -> list[Comment]:
        access = self.access(user, recording)
        mine = {g.id for g in self.store.groups_of(user.id)}
        return [c for c in self.store.comments(access.view.id) if may_read(c, user.id, mine)]

    def comment(self, user: User, recording: str, new: NewComment) -> Comment:
        access = self._reviewer(user, recording)
        checked = check_comment(new, self.rubric(access.view), self.duration(recording),
                                access.groups)  # fmt: skip
        return self.store.add_comment(recording, user.id, user.display_name, checked,
                                      self.now())  # fmt: skip

    def reply(self, user: User, recording: str, comment_id: int, text: str) -> Reply:
        self._reviewer(user, recording)
        comment = self._readable(user, recording, comment_id)
        return self.store.add_reply(comment.id, user.id, user.display_name, check_text(text),
                                    self.now())  # fmt: skip

    def delete_comment(self, user: User, recording: str, comment_id: int) -> None:
        comment = self._readable(user, recording, comment_id)
        if comment.author_id != user.id:
            raise ReviewRefused("not_author", "only its author may delete a comment")
        self.store.delete_comment(comment_id)

    def _readable(self, user: User, recording: str, comment_id: int) -> Comment:
        for comment in self.comments(user, recording):
            if comment.id == comment_id:
                return comment
        raise ReviewNotFound(f"no comment {comment_id} on {recording}")

    # --- scores ----------------------------------------------------------------------

    def scores(self, user: User, recording: str) -> dict[str, Any]:
        access = self.access(user, recording)
        rubric = self.rubric(access.view)
        sheets = self.store.scores(recording)
        summary = summarize(rubric, sheets)
        mine = next((s for (uid, _), s in sheets.items() if uid == user.id), {})
        return {
            "rubric": rubric.as_json(),
            "mine": dict(mine),
            "reviewers": [
                {"user_id": s.reviewer_id, "name": s.reviewer, "scores": dict(s.scores),
                 "total": s.total, "max": s.max, "complete": s.complete}
                for s in summary.sheets
            ],
            "average": {"total": summary.average_total, "per_item": dict(summary.average_per_item),
                        "reviewers": summary.complete_sheets},
        }  # fmt: skip

    def score(self, user: User, recording: str, scores: Mapping[str, int]) -> dict[str, Any]:
        access = self._reviewer(user, recording)
        rubric = self.rubric(access.view)
        for item, value in scores.items():
            rubric.check_score(item, value)
        self.store.set_scores(recording, user.id, user.display_name, scores, self.now())
        return self.scores(user, recording)

    # --- clips -----------------------------------------------------------------------

    def clips(self, user: User, recording: str) -> list[dict[str, Any]]:
        access = self.access(user, recording)
        mine = {g.id for g in self.store.groups_of(user.id)}
        out = []
        for clip in self.store.clips(recording):
            if clip.author_id != user.id and clip.group_id not in mine and not access.own:
                continue
            out.append(self._clip_row(clip))
        return out

    def _clip_row(self, clip: Clip) -> dict[str, Any]:
        job = self.jobs.find(clip.recording, f"{CLIP_PREFIX}{clip.id}")
        state = {JobState.DONE: "ready", JobState.FAILED: "failed"}.get(
            job.state if job else JobState.FAILED, "queued"
        )
        result = job.result if job is not None and job.state is JobState.DONE else None
        url = None
        if result:
            files = [t["file"] for t in result.get("tracks", {}).values() if "file" in t]
            if files:
                url = self._link(clip.recording, f"clips/{clip.id}/{files[0]}")
        return {
            "id": clip.id, "title": clip.title, "start": clip.start, "end": clip.end,
            "cut_start": (result or {}).get("start"), "cut_end": (result or {}).get("end"),
            "state": state, "url": url, "group": clip.group_id, "author": clip.author,
            "error": job.error if job is not None and job.state is JobState.FAILED else None,
        }  # fmt: skip

    def clip(
        self, user: User, recording: str, title: str, start: float, end: float,
        group: int | None,
    ) -> dict[str, Any]:  # fmt: skip
        access = self._reviewer(user, recording)
        if self.state(recording) != "ready":
            raise ReviewRefused("not_ready", "the recording is still being processed")
        title = check_clip(title, start, end, self.duration(recording))
        if group is not None and group not in access.groups:
            raise ReviewInvalid("group", "you are not in that research group, "
                                "or the recording is not shared with it")  # fmt: skip
        clip = self.store.add_clip(recording, user.id, user.display_name, title, start, end,
                                   group, self.now())  # fmt: skip
        self.jobs.enqueue(recording, f"{CLIP_PREFIX}{clip.id}", self.now())
        return self._clip_row(clip)

    # --- research groups and sessions ------------------------------------------------

    def groups(self, user: User) -> list[Group]:
        """The reader's groups; an admin or researcher also sees the groups of the region."""
        own = {g.id: g for g in self.store.groups_of(user.id)}
        if user.role in (Role.ADMIN, Role.RESEARCHER) and user.scope.region:
            for g in self.store.groups_in([region_prefix(user.scope.region)]):
                own.setdefault(g.id, g)
        return sorted(own.values(), key=lambda g: g.id)

    def create_group(self, user: User, name: str) -> Group:
        if user.role not in REGION_ROLES or user.scope.region is None:
            raise ReviewRefused("role", "research groups are set up by regional staff")
        name = check_text(name, "name", 100)
        return self.store.create_group(name, user.scope.region, user.id, user.display_name,
                                       self.now())  # fmt: skip

    def may_change(self, user: User, group: Group) -> bool:
        """Whether ``user`` may change ``group``: its lead, or an admin over its region."""
        member = group.member(user.id)
        return bool(member and member.lead) or _admin_over(user, group)

    def _led(self, user: User, group_id: int) -> Group:
        group = self.store.group(group_id)
        if not self.may_change(user, group):
            raise ReviewRefused("not_lead", "only the group's lead may change it")
        return group

    def candidates(self, user: User, group_id: int, query: str) -> list[dict[str, Any]]:
        """Active accounts the group's lead may add: teachers, researchers and admins of
        the group's region who are not members yet, whose username or name contains
        ``query``; at most ``MAX_CANDIDATES``, by username. Only the lead (or an admin over
        the region) may ask."""
        group = self._led(user, group_id)
        prefix = region_prefix(group.region)
        needle = query.strip().casefold()
        found = []
        # the lead's region scope covers the group's region (it is where the lead made it)
        for account in self.identity.users_visible_to(user.principal()):
            if not account.active or account.role not in MEMBER_ROLES or group.member(account.id):
                continue
            if needle not in account.username.casefold() and needle not in (
                account.display_name.casefold()
            ):
                continue
            if not any(code.startswith(prefix) for code in _regions_of(self.lessons, account)):
                continue
            found.append({"user_id": account.id, "username": account.username,
                          "name": account.display_name, "role": account.role.value})  # fmt: skip
            if len(found) >= MAX_CANDIDATES:
                break
        return found

    def add_member(self, user: User, group_id: int, member_id: int) -> Group:
        group = self._led(user, group_id)
        member = self.identity.user(member_id)
        if not member.active:
            raise ReviewInvalid("user", "that account is deactivated")
        if member.role not in MEMBER_ROLES:
            raise ReviewInvalid("user", "only teachers, researchers and admins join a group")
        regions = _regions_of(self.lessons, member)
        if not any(code.startswith(region_prefix(group.region)) for code in regions):
            raise ReviewInvalid("user", "that account is outside the group's region")
        return self.store.add_member(group.id, member.id, member.display_name, self.now())

    def remove_member(self, user: User, group_id: int, member_id: int) -> Group:
        group = self._led(user, group_id)
        member = group.member(member_id)
        if member is not None and member.lead:  # a group without its lead is left unmanaged
            raise ReviewRefused("lead_stays", "the group's lead cannot be removed")
        return self.store.remove_member(group.id, member_id)

    def share(self, user: User, group_id: int, recordings: list[str]) -> Group:
        group = self._led(user, group_id)
        for recording in recordings:
            self.access(user, recording)  # one shares only what one may see
        self.store.share(group.id, recordings, user.id, self.now())
        return self.store.group(group.id)

    def create_session(
        self, user: User, group_id: int, title: str, deadline: datetime, recordings: list[str]
    ) -> Session:
        group = self._led(user, group_id)
        title, chosen = check_session(title, deadline, recordings, self.now())
        for recording in chosen:
            self.access(user, recording)
        return self.store.create_session(group.id, title, deadline, chosen, user.id, self.now())

    def sessions(self, user: User) -> list[dict[str, Any]]:
        """The sessions of the groups the reader sees (``groups``: their own, and for an
        admin or researcher those of the region), with whether the reader has commented on
        or scored each of their recordings."""
        groups = {g.id: g for g in self.groups(user)}
        now = self.now()
        out = []
        for session in self.store.sessions_of(groups):
            done = all(
                any(c.author_id == user.id for c in self.store.comments(r))
                or any(uid == user.id for uid, _ in self.store.scores(r))
                for r in session.recordings
            )
            out.append({
                "id": session.id, "title": session.title, "group": groups[session.group_id].name,
                "group_id": session.group_id, "deadline": session.deadline.isoformat(),
                "open": session.open_at(now), "recordings": list(session.recordings),
                "done": done,
            })  # fmt: skip
        return out


def _own(user: User, view: LessonView) -> bool:
    """The lesson is the teacher account's own."""
    return user.role is Role.TEACHER and view.teacher_id == user.teacher_id


def _staff(user: User, view: LessonView) -> bool:
    """Staff whose role may view recordings and whose scope covers the lesson (a teacher
    sees other teachers' lessons only through a research group)."""
    principal = user.principal()
    return (
        principal.role is not Role.TEACHER
        and authorize(principal, Action.RECORDING_VIEW, view.target()).allowed
    )


def _admin_over(user: User, group: Group) -> bool:
    if user.role is not Role.ADMIN or user.scope.region is None:
        return False
    return group.region.startswith(region_prefix(user.scope.region))


def _regions_of(lessons: LiveLessons, user: User) -> set[str]:
    """The region codes an account belongs to (its own, or its school's)."""
    if user.scope.region is not None:
        return {user.scope.region}
    school = lessons.directory().school(user.scope.school) if user.scope.school else None
    return {school.region} if school is not None else set()


def deadline_from(text: str, now: datetime) -> datetime:
    """A deadline given as an ISO date (end of that day, Beijing) or datetime."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, tzinfo=BEIJING)
        when = datetime.fromisoformat(text)
    except ValueError as error:
        raise ReviewInvalid("deadline", "must be a date like 2026-12-01") from error
    return when if when.tzinfo else when.replace(tzinfo=BEIJING)
