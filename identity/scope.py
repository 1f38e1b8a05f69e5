"""Scopes: the region or school a user acts for, and what a request touches.

Regions are identified by China's administrative division codes (GB/T 2260 for
province, city and county, six digits; township codes are nine digits). The codes
are hierarchical by prefix: province ``340000`` covers city ``341500``, which
covers county ``341524`` and township ``341524101``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from identity.errors import InvalidUser

_CODE = re.compile(r"^(\d{6}|\d{9})$")


def validate_region_code(code: str) -> str:
    """Return ``code`` if it is a 6- or 9-digit division code, else raise."""
    if not _CODE.match(code):
        raise InvalidUser("region", f"region code {code!r} must be 6 or 9 digits")
    return code


def region_prefix(code: str) -> str:
    """The significant prefix of a division code: ``340000`` → ``34``."""
    if len(code) == 9:
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_level(code: str) -> str:
    """``province``, ``city``, ``county`` or ``township``."""
    return {2: "province", 4: "city", 6: "county", 9: "township"}[len(region_prefix(code))]


@dataclass(frozen=True)
class Scope:
    """Where a principal acts: a region (by code) or one school (by id)."""

    region: str | None = None
    school: str | None = None

    def __post_init__(self) -> None:
        if (self.region is None) == (self.school is None):
            raise InvalidUser("scope", "a scope is either a region or a school")
        if self.region is not None:
            validate_region_code(self.region)

    def covers(self, target: Target) -> bool:
        if self.school is not None:
            return self.school in target.schools
        assert self.region is not None
        prefix = region_prefix(self.region)
        return any(code.startswith(prefix) for code in target.regions)

    def __str__(self) -> str:
        return f"region:{self.region}" if self.region else f"school:{self.school}"


@dataclass(frozen=True)
class Target:
    """What a request touches: the regions and schools involved.

    A delivery lesson involves its output school and every receiving school; a
    principal whose scope covers any of them may act on it.
    """

    regions: frozenset[str] = frozenset()
    schools: frozenset[str] = frozenset()

    @classmethod
    def school(cls, school_id: str, region_code: str) -> Target:
        return cls(frozenset({region_code}), frozenset({school_id}))
