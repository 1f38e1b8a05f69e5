"""Interaction in a live lesson: hands, calling on a classroom, the one-key controls.

The MoE live-teaching platform security standard asks for one-key controls held by
the teacher: mute all, disable all interaction (receivers cannot re-enable it),
pause, end. Pure: each command takes the controls and returns the new controls and
the event to publish, or raises ``ControlRefused``. What a classroom may publish
follows from the controls (``may_publish``); the service applies it to the SFU.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rooms.errors import ControlRefused
from rooms.events import ControlsChanged

MAX_HANDS = 64


@dataclass(frozen=True)
class Controls:
    called_on: str | None = None  # the classroom identity whose audio and video go to all
    hands: tuple[str, ...] = ()  # classroom identities, in the order they raised their hands
    muted_all: bool = False  # no receiving microphone is open
    interaction_disabled: bool = False  # no hands, no chat, no calls from receivers
    paused: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "called_on": self.called_on,
            "hands": list(self.hands),
            "muted_all": self.muted_all,
            "interaction_disabled": self.interaction_disabled,
            "paused": self.paused,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Controls:
        called = data.get("called_on")
        hands = data.get("hands") or []
        return cls(
            called_on=str(called) if called else None,
            hands=tuple(str(h) for h in hands) if isinstance(hands, list) else (),
            muted_all=bool(data.get("muted_all")),
            interaction_disabled=bool(data.get("interaction_disabled")),
            paused=bool(data.get("paused")),
        )


TEACHER_ACTIONS = frozenset(
    {"call_on", "end_call", "mute_all", "unmute_all", "disable_interaction",
     "enable_interaction", "pause", "resume", "lower_hand"}
)  # fmt: skip
RECEIVER_ACTIONS = frozenset({"raise_hand", "lower_hand"})


def apply(
    controls: Controls,
    action: str,
    *,
    lesson: str,
    by: str,
    teacher: bool,
    target: str = "",
    now: datetime,
) -> tuple[Controls, ControlsChanged]:
    """Carry out ``action`` by ``by`` (the teacher if ``teacher``, else a classroom)."""
    allowed = TEACHER_ACTIONS if teacher else RECEIVER_ACTIONS
    if action not in allowed:
        raise ControlRefused("not_allowed", f"{action} is not yours to do in this lesson")
    new = _step(controls, action, target if teacher else by)  # receivers act on themselves
    event = ControlsChanged(
        at=now, lesson=lesson, action=action, by=by, target=target if teacher else by,
        called_on=new.called_on, hands=list(new.hands), muted_all=new.muted_all,
        interaction_disabled=new.interaction_disabled, paused=new.paused,
    )  # fmt: skip
    return new, event


def _step(c: Controls, action: str, who: str) -> Controls:
    if action == "raise_hand":
        if c.interaction_disabled:
            raise ControlRefused("interaction_disabled", "the teacher has turned interaction off")
        if who in c.hands or who == c.called_on:
            return c
        if len(c.hands) >= MAX_HANDS:
            raise ControlRefused("too_many_hands", "too many hands are raised")
        return replace(c, hands=(*c.hands, who))
    if action == "lower_hand":
        return replace(c, hands=tuple(h for h in c.hands if h != who))
    if action == "call_on":
        if not who:
            raise ControlRefused("no_target", "say which classroom to call on")
        if c.interaction_disabled:
            raise ControlRefused("interaction_disabled", "turn interaction on first")
        hands = tuple(h for h in c.hands if h != who)
        return replace(c, called_on=who, hands=hands, muted_all=False)
    if action == "end_call":
        return replace(c, called_on=None)
    if action == "mute_all":
        return replace(c, muted_all=True)
    if action == "unmute_all":
        return replace(c, muted_all=False)
    if action == "disable_interaction":
        return replace(c, interaction_disabled=True, called_on=None, hands=())
    if action == "enable_interaction":
        return replace(c, interaction_disabled=False)
    if action == "pause":
        return replace(c, paused=True)
    if action == "resume":
        return replace(c, paused=False)
    raise ControlRefused("unknown_action", f"unknown action {action!r}")


def may_publish(controls: Controls, identity: str, base: frozenset[str]) -> frozenset[str]:
    """What a receiving classroom may publish now: its camera, and its microphone
    only while it is called on, nobody muted all, and the lesson is not paused."""
    speaking = controls.called_on == identity and not controls.muted_all and not controls.paused
    return base | {"microphone"} if speaking else base - {"microphone"}


def may_chat(controls: Controls, teacher: bool) -> None:
    if not teacher and controls.interaction_disabled:
        raise ControlRefused("interaction_disabled", "the teacher has turned interaction off")
