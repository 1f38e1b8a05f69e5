"""Rights: roles × actions, scopes, and who may grant which account."""

from __future__ import annotations

import pytest

from identity.authorize import Principal, authorize, may_grant, scope_target
from identity.errors import InvalidUser, NotAllowed
from identity.roles import POLICY, Action, Role
from identity.scope import Scope, Target, region_level, region_prefix

COUNTY = "349921"
SHIMEN = "349921101"
OTHER_COUNTY_TOWN = "349922101"


def principal(role: Role, scope: Scope) -> Principal:
    return Principal(1, "u", role, scope)


ADMIN = principal(Role.ADMIN, Scope(region=COUNTY))
SCHOOL_ADMIN = principal(Role.SCHOOL_ADMIN, Scope(school="cs-shimen"))
TEACHER = principal(Role.TEACHER, Scope(school="cs-shimen"))
DEVICE = principal(Role.RECEIVING_CLASSROOM, Scope(school="tp-yangshuwan"))
INSPECTOR = principal(Role.INSPECTOR, Scope(region=COUNTY))
RESEARCHER = principal(Role.RESEARCHER, Scope(region=COUNTY))

SHIMEN_SCHOOL = Target.school("cs-shimen", SHIMEN)
FAR_SCHOOL = Target.school("cs-far", OTHER_COUNTY_TOWN)


@pytest.mark.parametrize(
    ("code", "prefix", "level"),
    [
        ("340000", "34", "province"),
        ("349900", "3499", "city"),
        ("349921", "349921", "county"),
        ("349921101", "349921101", "township"),
    ],
)
def test_division_codes_nest_by_prefix(code: str, prefix: str, level: str) -> None:
    assert region_prefix(code) == prefix
    assert region_level(code) == level


@pytest.mark.parametrize("bad", ["", "34", "3499211", "34992a", "3499211011"])
def test_malformed_region_codes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidUser):
        Scope(region=bad)


def test_a_scope_is_a_region_or_a_school_not_both() -> None:
    with pytest.raises(InvalidUser):
        Scope(region=COUNTY, school="cs-shimen")
    with pytest.raises(InvalidUser):
        Scope()


@pytest.mark.parametrize(
    ("who", "target", "expected"),
    [
        (ADMIN, SHIMEN_SCHOOL, True),
        (ADMIN, FAR_SCHOOL, False),
        (principal(Role.ADMIN, Scope(region="340000")), FAR_SCHOOL, True),
        (principal(Role.ADMIN, Scope(region="349900")), FAR_SCHOOL, True),
        (SCHOOL_ADMIN, SHIMEN_SCHOOL, True),
        (SCHOOL_ADMIN, Target.school("tp-yangshuwan", SHIMEN), False),
        (SCHOOL_ADMIN, Target(frozenset({SHIMEN}), frozenset()), False),
    ],
)
def test_scope_covers_what_lies_in_it(who: Principal, target: Target, expected: bool) -> None:
    assert authorize(who, Action.DIRECTORY_READ, target).allowed is expected


def test_a_lesson_between_two_schools_is_visible_from_either_side() -> None:
    lesson = Target(frozenset({SHIMEN, OTHER_COUNTY_TOWN}), frozenset({"cs-shimen", "cs-far"}))
    assert authorize(TEACHER, Action.DIRECTORY_READ, lesson).allowed
    assert authorize(ADMIN, Action.DIRECTORY_READ, lesson).allowed


def test_nobody_signed_in_is_told_to_sign_in() -> None:
    decision = authorize(None, Action.DIRECTORY_READ, None)
    assert (decision.allowed, decision.reason) == (False, "login")
    with pytest.raises(NotAllowed) as caught:
        decision.enforce()
    assert caught.value.reason == "login"


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_decides_before_scope(role: Role, action: Action) -> None:
    scope = (
        Scope(region=COUNTY)
        if role in (Role.ADMIN, Role.INSPECTOR, Role.RESEARCHER)
        else (Scope(school="cs-shimen"))
    )
    decision = authorize(principal(role, scope), action, None)
    assert decision.allowed is (action in POLICY[role])
    if not decision.allowed:
        assert decision.reason == "role"


def test_design_rights_hold() -> None:
    """DESIGN.md §8 in a few lines: what each role must and must not do."""
    assert POLICY[Role.ADMIN] == frozenset(Action)
    assert Action.LESSON_TEACH in POLICY[Role.TEACHER]
    assert Action.USER_MANAGE not in POLICY[Role.TEACHER]
    assert POLICY[Role.RECEIVING_CLASSROOM] == {
        Action.ACCOUNT_SELF, Action.SCHEDULE_READ, Action.LESSON_RECEIVE,
    }  # fmt: skip
    assert Action.INSPECTION_RECORD in POLICY[Role.INSPECTOR]
    assert Action.LESSON_TEACH not in POLICY[Role.INSPECTOR]
    assert Action.RECORDING_REVIEW in POLICY[Role.RESEARCHER]
    assert Action.RECORDING_REVIEW not in POLICY[Role.TEACHER]
    assert all(Action.ACCOUNT_SELF in actions for actions in POLICY.values())


def test_who_may_grant_which_account() -> None:
    teacher_at_shimen = scope_target(Scope(school="cs-shimen"), SHIMEN)
    teacher_far = scope_target(Scope(school="cs-far"), OTHER_COUNTY_TOWN)
    county = scope_target(Scope(region=COUNTY), None)
    assert may_grant(ADMIN, Role.TEACHER, teacher_at_shimen).allowed
    assert may_grant(ADMIN, Role.INSPECTOR, county).allowed
    assert may_grant(ADMIN, Role.TEACHER, teacher_far).reason == "scope"
    assert may_grant(SCHOOL_ADMIN, Role.TEACHER, teacher_at_shimen).allowed
    assert may_grant(SCHOOL_ADMIN, Role.ADMIN, teacher_at_shimen).reason == "role"
    assert may_grant(SCHOOL_ADMIN, Role.TEACHER, teacher_far).reason == "scope"
    assert may_grant(TEACHER, Role.TEACHER, teacher_at_shimen).reason == "role"
    assert may_grant(INSPECTOR, Role.INSPECTOR, county).reason == "role"
