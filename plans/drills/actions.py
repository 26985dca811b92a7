"""Corrective actions (整改) found in drills and spot checks: open → done → verified, plan
revisions started from a problem, overdue lists and SMS reminders, and the bureau's spot checks
(抽查) of reported drills. The caller commits, except ``remind_overdue_actions`` (a sweep).
"""
from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import local_today, utcnow
from plans.plan import operations as plan_operations
from plans.plan.models import Plan

from plans.drills.models import (
    ACTION_STATUS_LABELS,
    ActionStatus,
    CorrectiveAction,
    Drill,
    DrillEvaluation,
    DrillFile,
    SpotCheck,
)
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging.models import Campaign, Contact
from emergency.core.access import scope_to_user
from emergency.core.timeutil import SHANGHAI

#: Allowed status transitions: (from, to).
TRANSITIONS = {(ActionStatus.open, ActionStatus.done), (ActionStatus.done, ActionStatus.verified),
               (ActionStatus.done, ActionStatus.open)}


def create_action(actor, drill: Drill, data: dict[str, Any], *, evaluation: DrillEvaluation | None = None,
                  spot_check: SpotCheck | None = None) -> CorrectiveAction:
    action = CorrectiveAction(enterprise_id=drill.enterprise_id, drill=drill, evaluation=evaluation,
                              spot_check_id=spot_check.id if spot_check is not None else None,
                              problem=data["problem"], action=data.get("action") or "",
                              owner_name=data["owner_name"], owner_mobile=data.get("owner_mobile"),
                              due_on=data["due_on"], status=ActionStatus.open)
    db.session.add(action)
    db.session.flush()
    audit.record(actor, "create", "corrective_action", action.id, enterprise_id=action.enterprise_id,
                 summary=action.problem[:100], changes=audit.snapshot(action))
    return action


def _may_verify(actor, action: CorrectiveAction) -> bool:
    role = getattr(actor, "role", None)
    if role in (Role.admin, Role.officer):
        return True
    # The enterprise's own manager verifies its fixes, but not the bureau's ordered corrections.
    return role == Role.enterprise and actor.enterprise_id == action.enterprise_id and action.spot_check_id is None


def change_status(actor, action: CorrectiveAction, data: dict[str, Any],
                  evidence_file: DrillFile | None = None) -> CorrectiveAction:
    """Move an action along open → done (with evidence) → verified, or send a done one back."""
    target = ActionStatus(data["status"])
    current = action.status
    if (current, target) not in TRANSITIONS:
        raise ValidationError({"status": [_("A corrective action cannot go from %(old)s to %(new)s; "
                                            "it goes open → done → verified.",
                                            old=ACTION_STATUS_LABELS[current.value],
                                            new=ACTION_STATUS_LABELS[target.value])]})
    evidence = (data.get("evidence") or "").strip()
    if target == ActionStatus.done:
        if not evidence and evidence_file is None:
            raise ValidationError({"evidence": [_("Describe or attach the evidence of the fix.")]})
        action.evidence = evidence
        if evidence_file is not None:
            action.evidence_file_id = evidence_file.id
        action.done_at = utcnow()
    else:
        if not _may_verify(actor, action):
            raise ValidationError({"status": [_("Only the enterprise's manager or an officer may verify a fix "
                                                "or send it back; a correction ordered by the bureau is "
                                                "verified by the bureau.")]})
        if target == ActionStatus.verified:
            action.verified_at = utcnow()
            action.verified_by_id = getattr(actor, "id", None)
        else:
            if not (data.get("note") or "").strip():
                raise ValidationError({"note": [_("Say why the fix is sent back.")]})
            action.done_at = None
    action.status = target
    changes = audit.pending_changes(action, exclude=frozenset({"updated_at"}))
    if data.get("note"):
        changes["note"] = data["note"]
    db.session.flush()
    audit.record(actor, "status", "corrective_action", action.id, enterprise_id=action.enterprise_id,
                 summary=action.problem[:100], changes=changes)
    return action


def start_revision(actor, action: CorrectiveAction, plan_id: int, note: str = ""):
    """Start a revision of the enterprise's plan for this problem (trigger "found_in_response")."""
    if action.revision_version_id is not None:
        raise ValidationError({"plan_id": [_("A revision is already linked to this problem.")]})
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.enterprise_id != action.enterprise_id:
        raise ValidationError({"plan_id": [_("Choose a plan of the same enterprise.")]})
    if plan.draft is not None and plan.draft.revision_trigger == "found_in_response":
        version = plan.draft  # the revision already started for another problem of the drill
    else:
        version = plan_operations.start_revision(actor, plan, {
            "revision_trigger": "found_in_response",
            "revision_note": (note or _("Drill %(title)s: %(problem)s", title=action.drill.title,
                                        problem=action.problem))[:500]})
    action.revision_version_id = version.id
    db.session.flush()
    audit.record(actor, "revise", "corrective_action", action.id, enterprise_id=action.enterprise_id,
                 summary=action.problem[:100], changes={"plan_id": plan.id, "version": version.number})
    return version


# --- lists ----------------------------------------------------------------------------------------

def action_select(params: dict[str, Any], today: date | None = None):
    """Corrective actions filtered by status, overdue, enterprise, township and drill (scope it)."""
    today = today or local_today()
    query = sa.select(CorrectiveAction).join(Enterprise, Enterprise.id == CorrectiveAction.enterprise_id)
    if params.get("status"):
        query = query.where(CorrectiveAction.status == ActionStatus(params["status"]))
    if params.get("overdue"):
        query = query.where(CorrectiveAction.status == ActionStatus.open, CorrectiveAction.due_on < today)
    if params.get("enterprise_id"):
        query = query.where(CorrectiveAction.enterprise_id == params["enterprise_id"])
    if params.get("township_id"):
        query = query.where(Enterprise.township_id == params["township_id"])
    if params.get("drill_id"):
        query = query.where(CorrectiveAction.drill_id == params["drill_id"])
    return query.order_by(CorrectiveAction.due_on, CorrectiveAction.id).options(
        selectinload(CorrectiveAction.enterprise).selectinload(Enterprise.township))  # each row names both


# --- reminders ------------------------------------------------------------------------------------

def remind_overdue_actions(today: date | None = None) -> int:
    """SMS once per overdue action (source key ``action-<id>-overdue``) to its owner's mobile,
    else to the enterprise's safety manager. Returns how many were sent; commits."""

    today = today or local_today()
    sent = 0
    overdue = db.session.scalars(sa.select(CorrectiveAction).where(
        CorrectiveAction.status == ActionStatus.open, CorrectiveAction.due_on < today)
        .order_by(CorrectiveAction.id)).all()
    for action in overdue:
        key = f"action-{action.id}-overdue"
        if db.session.scalar(sa.select(Campaign.id).where(Campaign.source_key == key)) is not None:
            continue
        enterprise = action.enterprise
        if action.owner_mobile:
            audience: dict[str, Any] = {"phones": [action.owner_mobile]}
        else:
            contact_id = db.session.scalar(sa.select(Contact.id).where(
                Contact.enterprise_id == enterprise.id, Contact.register_role == "safety_manager"))
            audience = {"contact_ids": [contact_id]} if contact_id else {"phones": [enterprise.safety_manager_mobile]}
        with force_locale("zh_CN"):  # SMS texts are Chinese whatever the screen language
            bureau = enterprise.township.jurisdiction.bureau_name
            body = _("[%(bureau)s] %(owner)s: the corrective action \"%(problem)s\" found in a drill was due by "
                     "%(date)s and is overdue; please fix it and report the fix in the system.",
                     bureau=bureau, owner=action.owner_name,
                     problem=_short(action.problem), date=action.due_on.isoformat())
            title = _("Overdue corrective action: %(problem)s", problem=_short(action.problem))
        campaign_ops.create_campaign(None, {"kind": "notice", "title": title[:200], "body": body,
                                            "priority": "normal", "ack_requested": False, **audience},
                                     enterprise_id=enterprise.id, source_key=key)
        sent += 1
    db.session.commit()
    return sent


def _short(text: str, limit: int = 20) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


# --- spot checks (抽查) -----------------------------------------------------------------------------

def spot_check(actor, drill: Drill, data: dict[str, Any]) -> SpotCheck:
    """An officer checks a reported drill; when it falls short, a correction is ordered."""
    if drill.reported_at is None:
        raise ValidationError({"drill": [_("Only drills reported to the bureau are spot-checked.")]})
    short = data["result"] == "short"
    check = SpotCheck(drill=drill, enterprise_id=drill.enterprise_id, officer_id=getattr(actor, "id", None),
                      checked_on=data["checked_on"], result=data["result"], findings=data.get("findings") or "",
                      correction_required=data.get("correction_required") or "" if short else "",
                      correction_due=data.get("correction_due") if short else None,
                      status="correction_ordered" if short else "closed")
    db.session.add(check)
    db.session.flush()
    audit.record(actor, "spot_check", "drill", drill.id, enterprise_id=drill.enterprise_id, summary=drill.title,
                 changes=audit.snapshot(check))
    if short:
        enterprise = drill.enterprise
        create_action(actor, drill, {"problem": check.correction_required, "owner_name": enterprise.safety_manager_name,
                                     "owner_mobile": enterprise.safety_manager_mobile, "due_on": check.correction_due,
                                     "action": check.findings}, spot_check=check)
    return check


def spot_check_action(check: SpotCheck) -> CorrectiveAction | None:
    return db.session.scalar(sa.select(CorrectiveAction).where(CorrectiveAction.spot_check_id == check.id))


def answer_spot_check(actor, check: SpotCheck, response: str) -> SpotCheck:
    """The enterprise answers an ordered correction; its action is done with the answer as evidence."""
    if check.status != "correction_ordered":
        raise ValidationError({"status": [_("Only an ordered correction can be answered.")]})
    check.response = response
    check.responded_at = utcnow()
    check.responded_by_id = getattr(actor, "id", None)
    check.status = "answered"
    action = spot_check_action(check)
    if action is not None and action.status == ActionStatus.open:
        change_status(actor, action, {"status": "done", "evidence": response})
    db.session.flush()
    audit.record(actor, "answer", "drill_spot_check", check.id, enterprise_id=check.enterprise_id,
                 summary=check.drill.title, changes={"response": response})
    return check


def close_spot_check(actor, check: SpotCheck) -> SpotCheck:
    """The officer accepts the answer: the check is closed and its correction verified."""
    if check.status != "answered":
        raise ValidationError({"status": [_("Only an answered correction can be closed.")]})
    check.status = "closed"
    action = spot_check_action(check)
    if action is not None and action.status == ActionStatus.done:
        change_status(actor, action, {"status": "verified"})
    db.session.flush()
    audit.record(actor, "close", "drill_spot_check", check.id, enterprise_id=check.enterprise_id,
                 summary=check.drill.title, changes={"status": ["answered", "closed"]})
    return check


def drill_select(user, params: dict[str, Any]):
    """Drill records ``user`` may see, newest first, filtered by enterprise, township, form,
    reported and local dates."""
    from datetime import datetime, time, timedelta


    query = scope_to_user(sa.select(Drill).join(Enterprise, Enterprise.id == Drill.enterprise_id), user,
                          Drill.enterprise_id)
    if params.get("enterprise_id"):
        query = query.where(Drill.enterprise_id == params["enterprise_id"])
    if params.get("township_id"):
        query = query.where(Enterprise.township_id == params["township_id"])
    if params.get("form"):
        query = query.where(Drill.form == params["form"])
    if params.get("reported") is not None:
        query = query.where(Drill.reported_at.is_not(None) if params["reported"] else Drill.reported_at.is_(None))
    if params.get("since"):
        query = query.where(Drill.started_at >= datetime.combine(params["since"], time(), tzinfo=SHANGHAI))
    if params.get("until"):
        query = query.where(Drill.started_at < datetime.combine(params["until"] + timedelta(days=1), time(),
                                                                tzinfo=SHANGHAI))
    # A list row shows the enterprise, whether it was evaluated and its spot checks: loaded here.
    return query.order_by(Drill.started_at.desc(), Drill.id.desc()).options(
        selectinload(Drill.enterprise), selectinload(Drill.evaluation), selectinload(Drill.spot_checks))
