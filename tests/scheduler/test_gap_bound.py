"""The goals' LP relaxation charges a lesson whole where its classes cannot be together."""

from __future__ import annotations

from dataclasses import replace

from scheduler.model import Need, ReceivingClass
from scheduler.solver import solve
from tests.scheduler.builders import tiny


def test_two_classes_in_one_room_are_charged_two_whole_lessons() -> None:
    # one receiving room, two classes of one grade: never in one lesson at once, so two
    # lessons (2 each) and the teacher's load (2); a relaxation that let the two share
    # a lesson by halves would say less than 6
    directory = tiny(points=1, periods=1)
    second = ReceivingClass("tp0-c2", "tp0", "tp0-r", 3, 8)
    directory = replace(
        directory,
        classes=(*directory.classes, second),
        needs=(*directory.needs, Need("tp0-c2", "英语", 1)),
    )
    plan = solve(directory, time_limit=10, workers=2)
    assert plan.scheduled == plan.demand == 2
    assert plan.status == "OPTIMAL" and plan.objective == 6
    assert plan.stats["bound_lp"] == plan.bound == 6
