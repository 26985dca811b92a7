"""What can be done to drill cycles: create, change, stop. Each change re-lays the cycle's
future occurrences (history stays) and is audited; the caller commits."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.messaging.models import Contact
from emergency.organisations.models import Enterprise
from plans.plan.models import Plan

from plans.drills import occurrences
from plans.drills.models import DrillCycle
from plans.drills.schemas import apply_preset

FIELDS = ("name", "preset", "scope_kind", "scope_name", "rule", "start_time", "duration_minutes", "grace_days",
          "lead_days", "drill_form", "starts_on", "ends_on", "shift_holidays")


def _linked(model, ids: list[int], enterprise_id: int, field: str) -> list:
    if not ids:
        return []
    rows = list(db.session.scalars(sa.select(model).where(model.id.in_(ids), model.enterprise_id == enterprise_id)))
    if len(rows) != len(set(ids)):
        raise ValidationError({field: [_("Choose records of the same enterprise.")]})
    return rows


def create_cycle(actor, enterprise: Enterprise, data: dict[str, Any]) -> DrillCycle:
    data = apply_preset(dict(data))
    cycle = DrillCycle(enterprise_id=enterprise.id, created_by_id=getattr(actor, "id", None),
                       **{name: data.get(name) for name in FIELDS})
    cycle.plans = _linked(Plan, data.get("plan_ids") or [], enterprise.id, "plan_ids")
    cycle.contacts = _linked(Contact, data.get("contact_ids") or [], enterprise.id, "contact_ids")
    db.session.add(cycle)
    db.session.flush()
    occurrences.refresh_cycle(cycle)
    audit.record(actor, "create", "drill_cycle", cycle.id, enterprise_id=enterprise.id, summary=cycle.name,
                 changes=audit.snapshot(cycle))
    return cycle


def update_cycle(actor, cycle: DrillCycle, data: dict[str, Any]) -> dict:
    """Change a cycle; its future undone occurrences follow, past ones stay as history."""
    merged = {name: getattr(cycle, name) for name in FIELDS}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    if "preset" in data and data["preset"] != cycle.preset and "rule" not in data:
        for name in ("rule", "start_time", "duration_minutes", "grace_days", "lead_days", "drill_form"):
            if name not in data:
                merged[name] = None
    merged = apply_preset(merged)
    if merged.get("ends_on") and merged["ends_on"] < merged["starts_on"]:
        raise ValidationError({"ends_on": [_("The end date must not be before the start date.")]})
    for name in FIELDS:
        setattr(cycle, name, merged.get(name))
    if "plan_ids" in data:
        cycle.plans = _linked(Plan, data["plan_ids"], cycle.enterprise_id, "plan_ids")
    if "contact_ids" in data:
        cycle.contacts = _linked(Contact, data["contact_ids"], cycle.enterprise_id, "contact_ids")
    changes = audit.pending_changes(cycle)
    db.session.flush()
    occurrences.refresh_cycle(cycle)
    if changes:
        audit.record(actor, "update", "drill_cycle", cycle.id, enterprise_id=cycle.enterprise_id, summary=cycle.name,
                     changes=changes)
    return changes


def stop_cycle(actor, cycle: DrillCycle) -> None:
    """Stop a cycle: its future occurrences go, its history stays."""
    cycle.active = False
    db.session.flush()
    occurrences.refresh_cycle(cycle)
    audit.record(actor, "stop", "drill_cycle", cycle.id, enterprise_id=cycle.enterprise_id, summary=cycle.name)
