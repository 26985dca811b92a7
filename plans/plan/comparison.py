"""Two versions of a plan side by side: sections matched by title, their differences and the
key parts that changed (shared by the comparison page and the API)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emergency.organisations.obligations import has_obligation

from plans.documents import richtext
from plans.plan.models import PlanSection, PlanVersion
from plans.plan.operations import key_changes


@dataclass
class Comparison:
    old: PlanVersion
    new: PlanVersion
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: KEY_PARTS codes that differ (article 37: a change of any of them means filing again).
    key_changes: list[str] = field(default_factory=list)

    @property
    def refiling_needed(self) -> bool:
        """Would publishing ``new`` after ``old`` need a new filing?"""
        return bool(self.key_changes) and has_obligation(self.new.plan.enterprise, "file_plans")


def compare(old: PlanVersion, new: PlanVersion) -> Comparison:
    return Comparison(old, new, compare_sections(old, new), key_changes(old, new))


def compare_sections(old: PlanVersion, new: PlanVersion) -> list[dict[str, Any]]:
    """Sections side by side, matched by title (then by position), with their differences."""
    remaining = list(old.sections)
    rows = []
    for section in new.sections:
        match = next((s for s in remaining if s.title == section.title), None)
        if match is None:
            match = next((s for s in remaining if s.position == section.position and s.level == section.level), None)
        if match is not None:
            remaining.remove(match)
        rows.append(_compare_row(match, section))
    rows.extend(_compare_row(s, None) for s in remaining)
    return rows


def _compare_row(old: PlanSection | None, new: PlanSection | None) -> dict[str, Any]:
    old_body, new_body = (old.body if old else ""), (new.body if new else "")
    changed = old is None or new is None or old.title != new.title or \
        richtext.to_plain_text(old_body) != richtext.to_plain_text(new_body)
    change = "added" if old is None else "removed" if new is None else "changed" if changed else "unchanged"
    return {"old": old, "new": new, "changed": changed, "change": change, "key_part": (new or old).key_part,
            "diff": richtext.diff_html(old_body, new_body) if changed else None}
