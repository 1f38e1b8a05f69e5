"""Network patrol records: a score of 1-5 per checklist item, and notes.

The checklist is configurable (``LiveLessons.checklist``); an inspection must score
every item it names with a whole number from 1 to 5, and may leave items out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rooms.errors import InspectionInvalid

MAX_NOTES = 2000
#: The default patrol checklist (``SANKE_PATROL_CHECKLIST`` replaces it).
CHECKLIST = ("教学准备", "教学组织", "师生互动", "接收端参与", "音视频质量")


def check_inspection(
    checklist: Sequence[str], scores: Mapping[str, object], notes: str
) -> tuple[dict[str, int], str]:
    """The scores and notes to store, or ``InspectionInvalid`` naming what is wrong."""
    unknown = sorted(set(scores) - set(checklist))
    if unknown:
        raise InspectionInvalid("unknown_item", f"not on the checklist: {'、'.join(unknown)}")
    clean: dict[str, int] = {}
    for item in checklist:
        if item not in scores:
            continue
        value = scores[item]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise InspectionInvalid("bad_score", f"{item}: a score is a whole number from 1 to 5")
        clean[item] = value
    if not clean:
        raise InspectionInvalid("no_scores", "score at least one item")
    text = notes.strip()
    if len(text) > MAX_NOTES:
        raise InspectionInvalid("notes_too_long", f"notes are at most {MAX_NOTES} characters")
    return clean, text
