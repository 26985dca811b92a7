"""What can be done to drill records: record, correct (audited), report to the bureau, attach
photos and documents, evaluate.

A drill record is never deleted; a correction keeps the old values in the audit trail and the
record is matched to its occurrences afresh. The caller commits.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.core import files
from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.organisations.obligations import has_obligation
from emergency.core.timeutil import utcnow
from plans.plan.models import Plan, PlanVersion, VersionStatus

from plans.drills import gate, occurrences
from plans.drills.models import Drill, DrillCycle, DrillEvaluation, DrillFile
from plans.drills import actions

#: Kinds of drill files by their type (emergency.core.files): photos and documents.
FILE_KINDS = {"jpg": "photo", "png": "photo", "pdf": "document", "docx": "document"}

FIELDS = ("title", "started_at", "duration_minutes", "form", "content", "purpose", "scenario", "location",
          "organiser", "participant_count", "participants", "observers")


def _versions(ids: list[int], enterprise_id: int, kept: tuple[int, ...] = ()) -> list[PlanVersion]:
    """The plan versions a drill exercised: published ones, or a new plan's first draft.

    Versions already on the record (``kept``) stay acceptable after they were superseded.
    """
    if not ids:
        return []
    rows = list(db.session.scalars(sa.select(PlanVersion).join(Plan).where(
        PlanVersion.id.in_(ids), Plan.enterprise_id == enterprise_id)))
    if len(rows) != len(set(ids)):
        raise ValidationError({"version_ids": [_("Choose plan versions of the same enterprise.")]})
    for version in rows:
        if version.id in kept or version.status == VersionStatus.published or gate.needs_drill(version):
            continue
        raise ValidationError({"version_ids": [_(
            "%(plan)s version %(n)s: a drill exercises a published version or a new plan's draft.",
            plan=version.plan.title, n=version.number)]})
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
        drill.versions = _versions(data["version_ids"], drill.enterprise_id, tuple(before))
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


def add_file(actor, drill: Drill, filename: str, data: bytes) -> DrillFile:
    """Attach a photo (JPG, PNG) or document (PDF, DOCX) checked by its content."""
    name = files.display_name(filename)
    try:
        kind = files.sniff(data, filename)
        if kind not in FILE_KINDS:
            raise files.FileRejected(_("%(name)s: a drill takes photos (JPG, PNG) and documents (PDF, DOCX).",
                                       name=name), filename=filename, rule="type")
        blob = files.store(data, filename)
    except files.FileRejected as exc:  # keyed by its field ("file") for pages and problem details alike
        raise ValidationError(exc.normalized_messages()) from exc
    row = DrillFile(enterprise_id=drill.enterprise_id, drill=drill, kind=FILE_KINDS[kind],
                    filename=files.safe_name(filename),
                    sha256=blob.sha256, size=blob.size, file_type=kind, uploaded_by_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "attach", "drill", drill.id, enterprise_id=drill.enterprise_id, summary=drill.title,
                 changes={"file": row.filename, "sha256": row.sha256, "kind": row.kind})
    return row


# --- evaluation (AQ/T 9009) ------------------------------------------------------------------------

EVALUATION_FIELDS = ("evaluated_on", "evaluator", "objectives", "summary", "plan_revision_needed", "revision_sections")


def save_evaluation(actor, drill: Drill, data: dict[str, Any]) -> DrillEvaluation:
    """Record or correct the drill's evaluation; each new problem becomes a corrective action.

    Existing actions are kept as they are (they change through their own transitions). A problem
    may start a revision of a plan with the statutory trigger "found_in_response".
    """

    evaluation = drill.evaluation
    values = {name: data[name] for name in EVALUATION_FIELDS if name in data}
    if evaluation is None:
        evaluation = DrillEvaluation(drill=drill, enterprise_id=drill.enterprise_id,
                                     recorded_by_id=getattr(actor, "id", None), **values)
        db.session.add(evaluation)
        db.session.flush()
        audit.record(actor, "evaluate", "drill", drill.id, enterprise_id=drill.enterprise_id, summary=drill.title,
                     changes=audit.snapshot(evaluation))
    else:
        for name, value in values.items():
            setattr(evaluation, name, value)
        changes = audit.pending_changes(evaluation)
        db.session.flush()
        if changes:
            audit.record(actor, "update_evaluation", "drill", drill.id, enterprise_id=drill.enterprise_id,
                         summary=drill.title, changes=changes)
    for index, problem in enumerate(data.get("problems") or []):
        action = actions.create_action(actor, drill, problem, evaluation=evaluation)
        if problem.get("revise_plan_id"):
            try:
                actions.start_revision(actor, action, problem["revise_plan_id"])
            except ValidationError as exc:
                messages = exc.normalized_messages()
                raise ValidationError({"problems": {index: {"revise_plan_id": [
                    message for value in messages.values() for message in
                    (value if isinstance(value, list) else [value])]}}}) from exc
    return evaluation
