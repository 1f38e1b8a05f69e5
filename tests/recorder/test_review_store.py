"""The review store on SQLite and PostgreSQL (the migrated schema)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from recorder.review import Category, NewComment, Visibility
from recorder.review_errors import ReviewNotFound
from recorder.review_store import ReviewStore

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_groups_members_sharing_and_sessions(engine: Engine) -> None:
    store = ReviewStore(engine)
    group = store.create_group("英语研修组", "341524", 1, "周雯", NOW)
    assert [(m.user_id, m.lead) for m in group.members] == [(1, True)]
    store.add_member(group.id, 2, "王晓燕", NOW + timedelta(seconds=1))
    again = store.add_member(group.id, 2, "王晓燕", NOW)  # no twin
    assert [m.user_id for m in again.members] == [1, 2]
    store.share(group.id, ["r1", "r1", "r2"], 1, NOW)
    session = store.create_session(group.id, "评课", NOW + timedelta(days=3), ("r2", "r3"), 1,
                                   NOW)  # fmt: skip
    assert store.group(group.id).recordings == ("r1", "r2", "r3")
    assert store.groups_sharing("r3") == {group.id}
    assert [s.id for s in store.sessions_of([group.id])] == [session.id]
    assert store.sessions_of([group.id])[0].recordings == ("r2", "r3")
    assert [g.id for g in store.groups_of(2)] == [group.id] and store.groups_of(3) == []
    assert [g.id for g in store.groups_in(["3415"])] == [group.id] and store.groups_in(["11"]) == []
    assert store.remove_member(group.id, 2).member(2) is None
    assert store.held() == {"r2", "r3"}
    with pytest.raises(ReviewNotFound):
        store.group(999)


def test_comments_replies_and_the_scores_they_carry(engine: Engine) -> None:
    store = ReviewStore(engine)
    scored = NewComment(12.0, 20.0, Category.STRENGTH, "好", Visibility.ALL, None, "goals", 4)
    first = store.add_comment("r1", 1, "周雯", scored, NOW)
    store.add_comment("r1", 2, "王晓燕", NewComment(3.0, None, Category.NOTE, "记",
                                                 Visibility.ME), NOW)  # fmt: skip
    reply = store.add_reply(first.id, 2, "王晓燕", "谢谢", NOW)
    comments = store.comments("r1")
    assert [c.at for c in comments] == [3.0, 12.0]
    assert comments[1].replies == (reply,) and comments[1].until == 20.0
    assert store.comment_counts(["r1", "r2"]) == {"r1": 1}
    assert store.scores("r1") == {(1, "周雯"): {"goals": 4}}
    store.set_scores("r1", 1, "周雯", {"goals": 5, "remote": 3}, NOW)
    assert store.scores("r1") == {(1, "周雯"): {"goals": 5, "remote": 3}}
    store.delete_comment(first.id)
    assert [c.text for c in store.comments("r1")] == ["记"]
    with pytest.raises(ReviewNotFound):
        store.add_reply(first.id, 2, "王晓燕", "x", NOW)


def test_clips_and_exemplary_marks(engine: Engine) -> None:
    store = ReviewStore(engine)
    clip = store.add_clip("r1", 1, "周雯", "导入", 5.0, 9.0, None, NOW)
    assert store.clip(clip.id) == clip and store.clips("r1") == [clip]
    store.mark_exemplary("r1", True, "admin", NOW)
    store.mark_exemplary("r2", False, "admin", NOW)
    assert store.exemplary(["r1", "r2", "r3"]) == {"r1"}
    store.mark_exemplary("r1", False, "admin", NOW)
    assert store.exemplary(["r1"]) == set()
    assert store.held() == {"r1"}
