"""What can be done to drill records: record, correct (audited), report to the bureau.

A drill record is never deleted; a correction keeps the old values in the audit trail and the
record is matched to its occurrences afresh. The caller commits.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.extensions import db
from emergency.organisations.models import Enterprise
from emergency.organisations.obligations import has_obligation
from emergency.timeutil import utcnow
from plans.plan.models import Plan, PlanVersion

from . import occurrences
from .models import Drill, DrillCycle

FIELDS = ("title", "started_at", "duration_minutes", "form", "content", "purpose", "scenario", "location",
          "organiser", "participant_count", "participants", "observers")


def _versions(ids: list[int], enterprise_id: int) -> list[PlanVersion]:
    if not ids:
        return []
    rows = list(db.session.scalars(sa.select(PlanVersion).join(Plan).where(
        PlanVersion.id.in_(ids), Plan.enterprise_id == enterprise_id)))
    if len(rows) != len(set(ids)):
        raise ValidationError({"version_ids": [_("Choose plan versions of the same enterprise.")]})
    return rows


def _cycle(cycle_id: int | None, enterprise_id: int) -> DrillCycle | None:
    if cycle_id is None:
        return None
    cycle = db.session.get(DrillCycle, cycle_id)
    if cycle is None or cycle.enterprise_id != enterprise_id:
        raise ValidationError({"cycle_id": [_("Choose a drill cycle of the same enterprise.")]})
    return cycle


def record_drill(actor, enterprise: Enterprise, data: dict[str, Any]) -> Drill:
    """Record a drill and link it to the occurrences it fulfils.

    Drills of enterprises that must report (article 33: high-risk and crowded places) are
    reported to the bureau as they are recorded.
    """
    drill = Drill(enterprise_id=enterprise.id, recorded_by_id=getattr(actor, "id", None),
                  **{name: data[name] for name in FIELDS if name in data})
    drill.cycle = _cycle(data.get("cycle_id"), enterprise.id)
    drill.enterprise = enterprise
    drill.versions = _versions(data.get("version_ids") or [], enterprise.id)
    if has_obligation(enterprise, "drill_half_yearly_report"):
        drill.reported_at = utcnow()
    db.session.add(drill)
    db.session.flush()
    fulfilled = occurrences.fulfil(drill, data.get("occurrence_ids"))
    audit.record(actor, "create", "drill", drill.id, enterprise_id=enterprise.id, summary=drill.title,
                 changes={**audit.snapshot(drill), "version_ids": [v.id for v in drill.versions],
                          "occurrences": [o.key for o in fulfilled]})
    return drill


def update_drill(actor, drill: Drill, data: dict[str, Any]) -> dict:
    """Correct a drill record; the audit entry keeps what it said before."""
    for name in FIELDS:
        if name in data:
            setattr(drill, name, data[name])
    if "cycle_id" in data:
        drill.cycle = _cycle(data["cycle_id"], drill.enterprise_id)
    changes = audit.pending_changes(drill)
    if "version_ids" in data:
        before = [v.id for v in drill.versions]
        drill.versions = _versions(data["version_ids"], drill.enterprise_id)
        after = [v.id for v in drill.versions]
        if sorted(before) != sorted(after):
            changes["version_ids"] = [before, after]
    db.session.flush()
    if changes or "occurrence_ids" in data:
        fulfilled = occurrences.fulfil(drill, data.get("occurrence_ids"))
        changes["occurrences"] = [o.key for o in fulfilled]
        audit.record(actor, "update", "drill", drill.id, enterprise_id=drill.enterprise_id, summary=drill.title,
                     changes=changes)
    return changes
