"""The review side's store on SQLite and PostgreSQL: research groups, sessions, comments,
replies, scores, clips and recording marks. It keeps what it is given; the rules are in
``recorder.review``, ``recorder.rubrics`` and ``recorder.groups``, the rights in the web
layer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.engine import Connection

from recorder.groups import Clip, Group, Member, Session
from recorder.review import Category, Comment, NewComment, Reply, Visibility
from recorder.review_errors import ReviewNotFound
from recorder.review_tables import (
    recording_marks,
    research_group_members,
    research_group_recordings,
    research_groups,
    review_clips,
    review_comments,
    review_replies,
    review_scores,
    review_session_recordings,
    review_sessions,
)


class ReviewStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- research groups -------------------------------------------------------------

    def create_group(
        self, name: str, region: str, creator_id: int, creator: str, now: datetime
    ) -> Group:
        with self.engine.begin() as conn:
            group_id = _new_id(
                conn,
                insert(research_groups).values(
                    name=name, region=region, created_by=creator_id, created_at=now
                ),
            )
            conn.execute(
                insert(research_group_members).values(
                    group_id=group_id, user_id=creator_id, name=creator, lead=True, added_at=now
                )
            )
        return self.group(group_id)

    def add_member(self, group_id: int, user_id: int, name: str, now: datetime) -> Group:
        group = self.group(group_id)
        if group.member(user_id) is None:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(research_group_members).values(
                        group_id=group_id, user_id=user_id, name=name, lead=False, added_at=now
                    )
                )
        return self.group(group_id)

    def remove_member(self, group_id: int, user_id: int) -> Group:
        with self.engine.begin() as conn:
            conn.execute(
                delete(research_group_members).where(
                    research_group_members.c.group_id == group_id,
                    research_group_members.c.user_id == user_id,
                )
            )
        return self.group(group_id)

    def group(self, group_id: int) -> Group:
        groups = self._groups([group_id])
        if not groups:
            raise ReviewNotFound(f"no research group {group_id}")
        return groups[0]

    def groups_of(self, user_id: int) -> list[Group]:
        """The groups ``user_id`` belongs to."""
        with self.engine.connect() as conn:
            ids = conn.scalars(
                select(research_group_members.c.group_id).where(
                    research_group_members.c.user_id == user_id
                )
            ).all()
        return self._groups(list(ids))

    def groups_in(self, regions: Iterable[str]) -> list[Group]:
        """The groups whose region starts with one of ``regions`` (division prefixes)."""
        prefixes = tuple(regions)
        with self.engine.connect() as conn:
            rows = conn.execute(select(research_groups.c.id, research_groups.c.region)).all()
        return self._groups([r.id for r in rows if r.region.startswith(prefixes)])

    def _groups(self, ids: list[int]) -> list[Group]:
        if not ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(research_groups)
                .where(research_groups.c.id.in_(ids))
                .order_by(research_groups.c.id)
            ).all()
            members: dict[int, list[Member]] = defaultdict(list)
            for m in conn.execute(
                select(research_group_members)
                .where(research_group_members.c.group_id.in_(ids))
                .order_by(research_group_members.c.added_at, research_group_members.c.user_id)
            ):
                members[m.group_id].append(Member(m.user_id, m.name, m.lead))
            shared: dict[int, list[str]] = defaultdict(list)
            for s in conn.execute(
                select(research_group_recordings)
                .where(research_group_recordings.c.group_id.in_(ids))
                .order_by(research_group_recordings.c.shared_at)
            ):
                shared[s.group_id].append(s.recording)
        return [
            Group(r.id, r.name, r.region, tuple(members[r.id]), tuple(shared[r.id])) for r in rows
        ]

    def share(self, group_id: int, recordings: Iterable[str], by: int, now: datetime) -> None:
        """Share recordings with a group (again: no change)."""
        with self.engine.begin() as conn:
            self._share(conn, group_id, recordings, by, now)

    def _share(
        self, conn: Connection, group_id: int, recordings: Iterable[str], by: int, now: datetime
    ) -> None:
        have = set(
            conn.scalars(
                select(research_group_recordings.c.recording).where(
                    research_group_recordings.c.group_id == group_id
                )
            )
        )
        for recording in dict.fromkeys(recordings):
            if recording not in have:
                conn.execute(
                    insert(research_group_recordings).values(
                        group_id=group_id, recording=recording, shared_by=by, shared_at=now
                    )
                )

    def groups_sharing(self, recording: str) -> set[int]:
        with self.engine.connect() as conn:
            return set(
                conn.scalars(
                    select(research_group_recordings.c.group_id).where(
                        research_group_recordings.c.recording == recording
                    )
                )
            )

    # --- review sessions -------------------------------------------------------------

    def create_session(
        self,
        group_id: int,
        title: str,
        deadline: datetime,
        recordings: tuple[str, ...],
        by: int,
        now: datetime,
    ) -> Session:
        """A session; its recordings are shared with the group as well."""
        with self.engine.begin() as conn:
            session_id = _new_id(
                conn,
                insert(review_sessions).values(
                    group_id=group_id,
                    title=title,
                    deadline=deadline,
                    created_by=by,
                    created_at=now,
                ),  # fmt: skip
            )
            for recording in recordings:
                conn.execute(
                    insert(review_session_recordings).values(
                        session_id=session_id, recording=recording
                    )
                )
            self._share(conn, group_id, recordings, by, now)
        return Session(session_id, group_id, title, deadline, recordings, now)

    def sessions_of(self, group_ids: Iterable[int]) -> list[Session]:
        ids = list(group_ids)
        if not ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(review_sessions)
                .where(review_sessions.c.group_id.in_(ids))
                .order_by(review_sessions.c.deadline, review_sessions.c.id)
            ).all()
            recordings: dict[int, list[str]] = defaultdict(list)
            for r in conn.execute(
                select(review_session_recordings).where(
                    review_session_recordings.c.session_id.in_([row.id for row in rows])
                )
            ):
                recordings[r.session_id].append(r.recording)
        return [
            Session(
                r.id, r.group_id, r.title, r.deadline, tuple(sorted(recordings[r.id])), r.created_at
            )  # fmt: skip
            for r in rows
        ]

    def held(self) -> set[str]:
        """Recordings a review session or a clip refers to: retention keeps them."""
        with self.engine.connect() as conn:
            sessions = set(conn.scalars(select(review_session_recordings.c.recording)))
            clips = set(conn.scalars(select(review_clips.c.recording)))
        return sessions | clips

    # --- comments and replies --------------------------------------------------------

    def add_comment(
        self, recording: str, author_id: int, author: str, new: NewComment, now: datetime
    ) -> Comment:
        """Keep a (checked) comment; a rubric value in it counts as the author's score."""
        with self.engine.begin() as conn:
            comment_id = _new_id(
                conn,
                insert(review_comments).values(
                    recording=recording,
                    author_id=author_id,
                    author=author,
                    at=new.at,
                    until=new.until,
                    category=new.category.value,
                    text=new.text,
                    visibility=new.visibility.value,
                    group_id=new.group,
                    rubric_item=new.rubric_item,
                    value=new.value,
                    created_at=now,
                ),  # fmt: skip
            )
            if new.rubric_item is not None and new.value is not None:
                self._set_scores(conn, recording, author_id, author,
                                 {new.rubric_item: new.value}, now)  # fmt: skip
        return self.comment(comment_id)

    def comment(self, comment_id: int) -> Comment:
        found = self._comments(review_comments.c.id == comment_id)
        if not found:
            raise ReviewNotFound(f"no comment {comment_id}")
        return found[0]

    def comments(self, recording: str) -> list[Comment]:
        """Every comment of a recording, by time, with replies (the reader filters)."""
        return self._comments(review_comments.c.recording == recording)

    def _comments(self, where: Any) -> list[Comment]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(review_comments)
                .where(where)
                .order_by(review_comments.c.at, review_comments.c.id)
            ).all()
            replies: dict[int, list[Reply]] = defaultdict(list)
            if rows:
                for r in conn.execute(
                    select(review_replies)
                    .where(review_replies.c.comment_id.in_([row.id for row in rows]))
                    .order_by(review_replies.c.id)
                ):
                    replies[r.comment_id].append(
                        Reply(r.id, r.comment_id, r.author_id, r.author, r.text, r.created_at)
                    )
        return [
            Comment(
                r.id,
                r.recording,
                r.author_id,
                r.author,
                r.at,
                r.until,
                Category(r.category),
                r.text,
                Visibility(r.visibility),
                r.group_id,
                r.rubric_item,
                r.value,
                r.created_at,
                tuple(replies[r.id]),
            )  # fmt: skip
            for r in rows
        ]

    def delete_comment(self, comment_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(review_replies).where(review_replies.c.comment_id == comment_id))
            conn.execute(delete(review_comments).where(review_comments.c.id == comment_id))

    def add_reply(
        self, comment_id: int, author_id: int, author: str, text: str, now: datetime
    ) -> Reply:
        self.comment(comment_id)
        with self.engine.begin() as conn:
            reply_id = _new_id(
                conn,
                insert(review_replies).values(
                    comment_id=comment_id,
                    author_id=author_id,
                    author=author,
                    text=text,
                    created_at=now,
                ),  # fmt: skip
            )
        return Reply(reply_id, comment_id, author_id, author, text, now)

    def comment_counts(self, recordings: Iterable[str]) -> dict[str, int]:
        """Comments open to everyone, per recording (for listings)."""
        names = list(recordings)
        if not names:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(review_comments.c.recording, func.count())
                .where(review_comments.c.recording.in_(names))
                .where(review_comments.c.visibility == Visibility.ALL.value)
                .group_by(review_comments.c.recording)
            ).all()
        return {recording: int(n) for recording, n in rows}

    # --- scores ----------------------------------------------------------------------

    def set_scores(
        self,
        recording: str,
        reviewer_id: int,
        reviewer: str,
        scores: Mapping[str, int],
        now: datetime,
    ) -> None:
        with self.engine.begin() as conn:
            self._set_scores(conn, recording, reviewer_id, reviewer, scores, now)

    def _set_scores(
        self,
        conn: Connection,
        recording: str,
        reviewer_id: int,
        reviewer: str,
        scores: Mapping[str, int],
        now: datetime,
    ) -> None:
        if not scores:
            return
        conn.execute(
            delete(review_scores).where(
                review_scores.c.recording == recording,
                review_scores.c.reviewer_id == reviewer_id,
                review_scores.c.item.in_(list(scores)),
            )
        )
        conn.execute(
            insert(review_scores),
            [
                {
                    "recording": recording,
                    "reviewer_id": reviewer_id,
                    "reviewer": reviewer,
                    "item": item,
                    "value": value,
                    "updated_at": now,
                }
                for item, value in scores.items()
            ],  # fmt: skip
        )

    def scores(self, recording: str) -> dict[tuple[int, str], dict[str, int]]:
        """``{(reviewer_id, reviewer): {item: value}}`` of a recording."""
        sheets: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
        names: dict[int, str] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(review_scores)
                .where(review_scores.c.recording == recording)
                .order_by(review_scores.c.updated_at)
            ).all()
        for r in rows:
            names[r.reviewer_id] = r.reviewer  # the latest name given
        for r in rows:
            sheets[(r.reviewer_id, names[r.reviewer_id])][r.item] = r.value
        return dict(sheets)

    # --- clips -----------------------------------------------------------------------

    def add_clip(
        self,
        recording: str,
        author_id: int,
        author: str,
        title: str,
        start: float,
        end: float,
        group_id: int | None,
        now: datetime,
    ) -> Clip:
        with self.engine.begin() as conn:
            clip_id = _new_id(
                conn,
                insert(review_clips).values(
                    recording=recording,
                    author_id=author_id,
                    author=author,
                    title=title,
                    start=start,
                    end=end,
                    group_id=group_id,
                    created_at=now,
                ),  # fmt: skip
            )
        return Clip(clip_id, recording, author_id, author, title, start, end, group_id, now)

    def clip(self, clip_id: int) -> Clip:
        found = self._clips(review_clips.c.id == clip_id)
        if not found:
            raise ReviewNotFound(f"no clip {clip_id}")
        return found[0]

    def clips(self, recording: str) -> list[Clip]:
        return self._clips(review_clips.c.recording == recording)

    def _clips(self, where: Any) -> list[Clip]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(review_clips).where(where).order_by(review_clips.c.id))
            return [
                Clip(
                    r.id,
                    r.recording,
                    r.author_id,
                    r.author,
                    r.title,
                    r.start,
                    r.end,
                    r.group_id,
                    r.created_at,
                )  # fmt: skip
                for r in rows
            ]

    # --- marks -----------------------------------------------------------------------

    def mark_exemplary(self, recording: str, exemplary: bool, by: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(recording_marks).where(recording_marks.c.recording == recording))
            conn.execute(
                insert(recording_marks).values(
                    recording=recording, exemplary=exemplary, marked_by=by, marked_at=now
                )
            )

    def exemplary(self, recordings: Iterable[str]) -> set[str]:
        names = list(recordings)
        if not names:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.scalars(
                    select(recording_marks.c.recording).where(
                        recording_marks.c.recording.in_(names), recording_marks.c.exemplary
                    )
                )
            )


def _new_id(conn: Connection, statement: Any) -> int:
    """Run an ``INSERT`` and return the new row's id."""
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])
