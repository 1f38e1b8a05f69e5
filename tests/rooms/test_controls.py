"""Interaction in a live lesson: hands, calling on a classroom, the one-key controls."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.controls import (
    MAX_HANDS,
    RECEIVER_ACTIONS,
    TEACHER_ACTIONS,
    Controls,
    apply,
    may_chat,
    may_publish,
)
from rooms.errors import ControlRefused
from rooms.events import ControlsChanged

NOW = datetime(2026, 11, 23, 0, 10, tzinfo=UTC)
LESSON = "P1-3-20261123"
TEACHER = "teacher:T1"
A, B, C = "classroom:A", "classroom:B", "classroom:C"
CAMERA = frozenset({"camera"})


def by_teacher(controls: Controls, action: str, target: str = "") -> Controls:
    new, _ = apply(
        controls, action, lesson=LESSON, by=TEACHER, teacher=True, target=target, now=NOW
    )
    return new


def by_receiver(controls: Controls, action: str, who: str, target: str = "") -> Controls:
    new, _ = apply(controls, action, lesson=LESSON, by=who, teacher=False, target=target, now=NOW)
    return new


def refused(controls: Controls, action: str, *, who: str, teacher: bool, target: str = "") -> str:
    with pytest.raises(ControlRefused) as error:
        apply(controls, action, lesson=LESSON, by=who, teacher=teacher, target=target, now=NOW)
    return error.value.code


def test_hands_are_kept_in_the_order_they_were_raised() -> None:
    c = by_receiver(Controls(), "raise_hand", B)
    c = by_receiver(c, "raise_hand", A)
    assert c.hands == (B, A)


def test_the_event_carries_the_new_controls() -> None:
    new, event = apply(
        Controls(hands=(B,)), "raise_hand", lesson=LESSON, by=A, teacher=False, now=NOW
    )
    assert isinstance(event, ControlsChanged)
    assert (event.at, event.lesson, event.key) == (NOW, LESSON, LESSON)
    assert (event.action, event.by, event.target) == ("raise_hand", A, A)
    assert event.hands == [B, A] == list(new.hands)
    assert (event.called_on, event.muted_all, event.interaction_disabled, event.paused) == (
        None,
        False,
        False,
        False,
    )


def test_raising_twice_keeps_one_hand() -> None:
    c = by_receiver(by_receiver(Controls(), "raise_hand", A), "raise_hand", A)
    assert c.hands == (A,)


def test_the_classroom_called_on_does_not_raise_a_hand() -> None:
    c = by_receiver(Controls(called_on=A), "raise_hand", A)
    assert c.hands == ()


def test_a_receiver_raising_for_another_classroom_raises_only_its_own_hand() -> None:
    new, event = apply(
        Controls(), "raise_hand", lesson=LESSON, by=A, teacher=False, target=B, now=NOW
    )
    assert new.hands == (A,)
    assert event.target == A and event.by == A


def test_a_receiver_lowering_another_classroom_lowers_only_its_own_hand() -> None:
    c = Controls(hands=(A, B))
    new, event = apply(c, "lower_hand", lesson=LESSON, by=A, teacher=False, target=B, now=NOW)
    assert new.hands == (B,)
    assert event.target == A
    assert by_receiver(Controls(hands=(B,)), "lower_hand", A, target=B).hands == (B,)


def test_the_teacher_lowers_any_hand() -> None:
    assert by_teacher(Controls(hands=(A, B, C)), "lower_hand", B).hands == (A, C)


def test_lowering_a_hand_not_raised_changes_nothing() -> None:
    assert by_receiver(Controls(hands=(B,)), "lower_hand", A) == Controls(hands=(B,))


def test_raising_is_refused_when_interaction_is_disabled() -> None:
    c = Controls(interaction_disabled=True)
    assert refused(c, "raise_hand", who=A, teacher=False) == "interaction_disabled"


@pytest.mark.parametrize("action", sorted(TEACHER_ACTIONS - RECEIVER_ACTIONS))
def test_receivers_may_not_use_the_teachers_controls(action: str) -> None:
    c = Controls(interaction_disabled=True, muted_all=True, paused=True)
    assert refused(c, action, who=A, teacher=False, target=A) == "not_allowed"


def test_a_receiver_cannot_re_enable_interaction() -> None:
    c = Controls(interaction_disabled=True)
    assert refused(c, "enable_interaction", who=A, teacher=False) == "not_allowed"
    assert by_teacher(c, "enable_interaction") == Controls()


@pytest.mark.parametrize("action", ["raise_hand", "unknown", ""])
def test_the_teacher_may_not_raise_hands_or_do_unknown_things(action: str) -> None:
    assert refused(Controls(), action, who=TEACHER, teacher=True) == "not_allowed"


def test_unknown_actions_are_refused_for_receivers() -> None:
    assert refused(Controls(), "call_on_self", who=A, teacher=False) == "not_allowed"


def test_calling_on_a_classroom_takes_its_hand_down_and_unmutes() -> None:
    c = Controls(hands=(A, B), muted_all=True)
    new = by_teacher(c, "call_on", B)
    assert new.called_on == B and new.hands == (A,) and not new.muted_all


def test_calling_on_another_classroom_replaces_the_first() -> None:
    c = by_teacher(by_teacher(Controls(hands=(A, B)), "call_on", A), "call_on", B)
    assert c.called_on == B and c.hands == ()


def test_calling_on_needs_a_target_and_interaction() -> None:
    assert refused(Controls(), "call_on", who=TEACHER, teacher=True) == "no_target"
    disabled = Controls(interaction_disabled=True)
    assert refused(disabled, "call_on", who=TEACHER, teacher=True, target=A) == (
        "interaction_disabled"
    )


def test_ending_the_call() -> None:
    assert by_teacher(Controls(called_on=A, hands=(B,)), "end_call") == Controls(hands=(B,))


def test_disabling_interaction_ends_the_call_and_clears_hands() -> None:
    c = Controls(called_on=A, hands=(B, C), muted_all=True, paused=True)
    assert by_teacher(c, "disable_interaction") == Controls(
        interaction_disabled=True, muted_all=True, paused=True
    )


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("mute_all", Controls(called_on=A), Controls(called_on=A, muted_all=True)),
        ("unmute_all", Controls(muted_all=True), Controls()),
        ("pause", Controls(called_on=A), Controls(called_on=A, paused=True)),
        ("resume", Controls(paused=True), Controls()),
        ("enable_interaction", Controls(interaction_disabled=True), Controls()),
    ],
)
def test_the_one_key_controls(action: str, before: Controls, after: Controls) -> None:
    assert by_teacher(before, action) == after


def test_hands_are_bounded() -> None:
    full = Controls(hands=tuple(f"classroom:{i}" for i in range(MAX_HANDS)))
    assert refused(full, "raise_hand", who="classroom:late", teacher=False) == "too_many_hands"
    # one already up may raise again without being refused
    assert by_receiver(full, "raise_hand", "classroom:0") == full
    assert len(by_receiver(Controls(hands=full.hands[:-1]), "raise_hand", A).hands) == MAX_HANDS


def test_commands_do_not_change_the_controls_they_are_given() -> None:
    c = Controls(hands=(A,))
    by_teacher(c, "call_on", A)
    assert c == Controls(hands=(A,))


# --- who may publish and chat -------------------------------------------------------------


def test_only_the_classroom_called_on_gets_the_microphone() -> None:
    c = Controls(called_on=A)
    assert may_publish(c, A, CAMERA) == {"camera", "microphone"}
    assert may_publish(c, B, CAMERA) == CAMERA
    assert may_publish(Controls(), A, CAMERA) == CAMERA


def test_a_classroom_not_called_on_loses_a_microphone_it_had() -> None:
    assert may_publish(Controls(called_on=B), A, CAMERA | {"microphone"}) == CAMERA


@pytest.mark.parametrize(
    "c", [Controls(called_on=A, muted_all=True), Controls(called_on=A, paused=True)]
)
def test_no_microphone_when_muted_all_or_paused(c: Controls) -> None:
    assert may_publish(c, A, CAMERA) == CAMERA
    assert may_publish(c, A, CAMERA | {"microphone"}) == CAMERA


def test_may_publish_returns_a_frozenset() -> None:
    assert isinstance(may_publish(Controls(called_on=A), A, CAMERA), frozenset)
    assert isinstance(may_publish(Controls(), A, CAMERA), frozenset)


def test_after_a_call_and_its_end_the_microphone_closes() -> None:
    c = by_teacher(Controls(hands=(A,)), "call_on", A)
    assert "microphone" in may_publish(c, A, CAMERA)
    c = by_teacher(c, "end_call")
    assert "microphone" not in may_publish(c, A, CAMERA)


def test_chat_is_closed_to_receivers_when_interaction_is_disabled() -> None:
    may_chat(Controls(), teacher=False)
    may_chat(Controls(interaction_disabled=True), teacher=True)
    with pytest.raises(ControlRefused) as error:
        may_chat(Controls(interaction_disabled=True), teacher=False)
    assert error.value.code == "interaction_disabled"


# --- serialisation ----------------------------------------------------------------------

identities = st.text(min_size=1, max_size=20)
controls = st.builds(
    Controls,
    called_on=st.none() | identities,
    hands=st.lists(identities, max_size=8, unique=True).map(tuple),
    muted_all=st.booleans(),
    interaction_disabled=st.booleans(),
    paused=st.booleans(),
)


@given(controls)
def test_controls_round_trip_through_a_dict(c: Controls) -> None:
    assert Controls.from_dict(c.as_dict()) == c


@given(controls)
def test_controls_round_trip_through_json(c: Controls) -> None:
    assert Controls.from_dict(json.loads(json.dumps(c.as_dict()))) == c


def test_as_dict_fields() -> None:
    c = Controls(called_on=A, hands=(B, C), muted_all=True, paused=True)
    assert c.as_dict() == {
        "called_on": A,
        "hands": [B, C],
        "muted_all": True,
        "interaction_disabled": False,
        "paused": True,
    }


def test_from_dict_is_lenient_with_missing_or_odd_fields() -> None:
    assert Controls.from_dict({}) == Controls()
    assert Controls.from_dict({"called_on": "", "hands": None}) == Controls()
    assert Controls.from_dict({"hands": "classroom:A"}) == Controls()
    assert Controls.from_dict({"hands": [1, 2], "paused": 1}) == Controls(
        hands=("1", "2"), paused=True
    )


# --- properties of the commands ------------------------------------------------------------

commands = st.lists(
    st.one_of(
        st.tuples(
            st.just(True), st.sampled_from(sorted(TEACHER_ACTIONS)), st.sampled_from([A, B, C, ""])
        ),
        st.tuples(
            st.just(False), st.sampled_from(sorted(RECEIVER_ACTIONS)), st.sampled_from([A, B, C])
        ),
    ),
    max_size=40,
)


@given(commands)
def test_any_command_sequence_keeps_the_controls_consistent(
    plan: list[tuple[bool, str, str]],
) -> None:
    c = Controls()
    for teacher, action, who in plan:
        by = TEACHER if teacher else who
        target = who if teacher else ""
        try:
            c, event = apply(
                c, action, lesson=LESSON, by=by, teacher=teacher, target=target, now=NOW
            )
        except ControlRefused as error:
            assert error.code in ("interaction_disabled", "no_target")
            continue
        assert event.hands == list(c.hands) and event.called_on == c.called_on
        assert len(set(c.hands)) == len(c.hands) <= MAX_HANDS
        assert c.called_on not in c.hands
        if c.interaction_disabled:
            assert c.hands == () and c.called_on is None
        speakers = [i for i in (A, B, C) if "microphone" in may_publish(c, i, CAMERA)]
        assert len(speakers) <= 1
        assert speakers == ([c.called_on] if c.called_on and not (c.muted_all or c.paused) else [])
