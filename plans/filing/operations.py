"""Filing (备案): open at publication, submit with the statutory materials, accept or return,
deemed filed after five working days, reminders before the twenty-working-day deadline.

Clocks count Chinese working days (``emergency.workdays``). Operations write and audit; the
caller commits. SMS notices are campaigns with a ``source_key`` per filing and milestone, so
a repeated sweep never sends one twice.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.extensions import db
from emergency.organisations.models import Enterprise, Jurisdiction
from emergency.organisations.obligations import has_obligation
from emergency.timeutil import local_today, to_local, utcnow
from emergency.transactions import on_commit
from emergency.workdays.calendar import CalendarNotCovered, add_working_days, working_days_between
from plans.plan.models import PlanVersion, VersionStatus

from .models import MATERIALS, RETURN_REASONS, Filing, FilingEvent, FilingStatus

logger = logging.getLogger(__name__)
SUBMIT_WORKING_DAYS = 20
DECIDE_WORKING_DAYS = 5
#: Reminders before the submission deadline, in working days.
REMINDER_MILESTONES = (10, 3)


def needs_filing(version: PlanVersion) -> bool:
    """Must this newly published version be filed? The first version of an enterprise that
    files, and any later version whose key parts changed (article 37)."""
    if not has_obligation(version.plan.enterprise, "file_plans"):
        return False
    earlier = [v for v in version.plan.versions if v.number < version.number and v.published_at is not None]
    return not earlier or bool(version.key_changes)


def open_filing(actor, version: PlanVersion) -> Filing:
    published_on = to_local(version.published_at).date() if version.published_at else local_today()
    enterprise = version.plan.enterprise
    filing = Filing(enterprise_id=enterprise.id, version=version, status=FilingStatus.due,
                    submit_by=add_working_days(published_on, SUBMIT_WORKING_DAYS),
                    applicant_name=enterprise.safety_manager_name, applicant_phone=enterprise.safety_manager_mobile)
    db.session.add(filing)
    db.session.flush()
    _event(filing, actor, "opened", note=_("Filing due by %(date)s (20 working days after publication).",
                                           date=filing.submit_by.isoformat()))
    audit.record(actor, "open", "filing", filing.id, enterprise_id=enterprise.id,
                 summary=f"{version.plan.title} v{version.number}",
                 changes={"submit_by": filing.submit_by.isoformat(), "key_changes": version.key_changes})
    return filing


def _event(filing: Filing, actor, action: str, *, note: str = "", items: list[str] | None = None) -> None:
    db.session.add(FilingEvent(filing=filing, action=action, user_id=getattr(actor, "id", None), note=note,
                               items=items or []))


# --- materials and submission --------------------------------------------------------------------

def materials(filing: Filing) -> dict[str, bool]:
    """Each statutory material and whether it is there (generated ones always are)."""
    version = filing.version
    needs_review = has_obligation(filing.enterprise, "expert_review")
    present = {
        "application_form": bool(filing.applicant_name and filing.applicant_phone),
        "plan_text": version.status in (VersionStatus.published, VersionStatus.superseded),
        "risk_assessment": bool(version.attachments_of("risk_assessment")),
        "resource_survey": bool(version.attachments_of("resource_survey")),
    }
    if needs_review:
        present["review_opinion"] = version.passing_review is not None
    return {code: present[code] for code in MATERIALS if code in present}


def submit(actor, filing: Filing, data: dict[str, Any]) -> Filing:
    """Submit (or resubmit) with the materials; every missing one is named at once."""
    if filing.status not in (FilingStatus.due, FilingStatus.returned):
        raise ValidationError({"status": [_("This filing has already been submitted.")]})
    for field in ("applicant_name", "applicant_phone"):
        if data.get(field):
            setattr(filing, field, data[field])
    missing = [code for code, ok in materials(filing).items() if not ok]
    if missing:
        raise ValidationError({"materials": [_("Missing: %(items)s.", items="、".join(str(MATERIALS[c]) for c in missing))]})
    resubmission = filing.status == FilingStatus.returned
    today = local_today()
    filing.status = FilingStatus.submitted
    filing.submitted_at = utcnow()
    filing.decide_by = add_working_days(today, DECIDE_WORKING_DAYS)
    _event(filing, actor, "resubmitted" if resubmission else "submitted",
           note=_("The bureau decides by %(date)s (5 working days).", date=filing.decide_by.isoformat()))
    audit.record(actor, "resubmit" if resubmission else "submit", "filing", filing.id,
                 enterprise_id=filing.enterprise_id, summary=_title(filing),
                 changes={"decide_by": filing.decide_by.isoformat(), "applicant": filing.applicant_name})
    db.session.flush()
    return filing


# --- the bureau's decision ---------------------------------------------------------------------

def _next_number(jurisdiction: Jurisdiction, year: int) -> str:
    prefix = f"{jurisdiction.area_code}-{year}-"
    last = db.session.scalar(sa.select(sa.func.max(Filing.number)).where(Filing.number.like(prefix + "%")))
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def _assign_number(filing: Filing) -> None:
    jurisdiction = db.session.get(Jurisdiction, filing.enterprise.township.jurisdiction_id)
    filing.number = _next_number(jurisdiction, local_today().year)


def accept(actor, filing: Filing) -> Filing:
    if filing.status != FilingStatus.submitted:
        raise ValidationError({"status": [_("Only a submitted filing can be accepted.")]})
    filing.status = FilingStatus.accepted
    filing.decided_at = utcnow()
    filing.decided_by_id = getattr(actor, "id", None)
    filing.return_items, filing.return_note = [], ""
    _assign_number(filing)
    _event(filing, actor, "accepted", note=filing.number)
    audit.record(actor, "accept", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=_title(filing),
                 changes={"number": filing.number})
    db.session.flush()
    _notify(filing, "accepted", _("【%(bureau)s】贵单位《%(title)s》已备案，备案编号%(number)s。备案登记表可在系统中下载。",
                                  bureau=_bureau(filing), title=filing.version.plan.title, number=filing.number))
    _render_form_later(filing.id)
    return filing


def return_filing(actor, filing: Filing, items: list[str], note: str) -> Filing:
    """Return a filing, naming every missing or wrong item at once (一次性告知)."""
    if filing.status != FilingStatus.submitted:
        raise ValidationError({"status": [_("Only a submitted filing can be returned.")]})
    unknown = [i for i in items if i not in RETURN_REASONS]
    if not items or unknown:
        raise ValidationError({"items": [_("Tick every missing or wrong item.")]})
    filing.status = FilingStatus.returned
    filing.return_items, filing.return_note = list(items), note
    filing.decided_at, filing.decided_by_id = utcnow(), getattr(actor, "id", None)
    _event(filing, actor, "returned", note=note, items=list(items))
    audit.record(actor, "return", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=_title(filing),
                 changes={"items": list(items), "note": note})
    db.session.flush()
    with force_locale("zh_CN"):  # SMS texts are Chinese whatever the officer's screen language
        listed = "、".join(str(RETURN_REASONS[i]) for i in items)
    rounds = sum(1 for e in filing.events if e.action == "returned")
    _notify(filing, f"returned-{rounds}", _("【%(bureau)s】贵单位《%(title)s》备案材料需补正：%(items)s。请登录系统查看说明并重新提交。",
                                           bureau=_bureau(filing), title=filing.version.plan.title, items=listed))
    return filing


def deem_filed(filing: Filing) -> None:
    """Five working days passed without a decision: filed by law (逾期视为已备案)."""
    filing.status = FilingStatus.deemed_filed
    filing.decided_at = utcnow()
    _assign_number(filing)
    _event(filing, None, "deemed_filed", note=filing.number)
    audit.record(None, "deem_filed", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=_title(filing),
                 changes={"number": filing.number, "decide_by": filing.decide_by.isoformat()})
    db.session.flush()
    _notify(filing, "deemed", _("【%(bureau)s】贵单位《%(title)s》备案申请已超过5个工作日未作决定，依法视为已备案，编号%(number)s。",
                                bureau=_bureau(filing), title=filing.version.plan.title, number=filing.number))
    _render_form_later(filing.id)


# --- sweeps (run by the scheduler through the queue) --------------------------------------------

def sweep(today: date | None = None) -> dict[str, int]:
    """Deem overdue decisions filed and send due reminders; safe to repeat."""
    today = today or local_today()
    counts = {"deemed": 0, "reminded": 0}
    for filing in db.session.scalars(sa.select(Filing).where(
            Filing.status == FilingStatus.submitted, Filing.decide_by < today).order_by(Filing.id)).all():
        deem_filed(filing)
        counts["deemed"] += 1
    db.session.commit()
    for filing in db.session.scalars(sa.select(Filing).where(
            Filing.status.in_([FilingStatus.due, FilingStatus.returned])).order_by(Filing.id)).all():
        counts["reminded"] += remind(filing, today)
    db.session.commit()
    return counts


def remind(filing: Filing, today: date) -> int:
    """The reminder due today for a filing not yet submitted, at most once per milestone."""
    title = filing.version.plan.title
    if today > filing.submit_by:
        sent = _notify(filing, "overdue", _("【%(bureau)s】贵单位《%(title)s》应于%(date)s前报送备案，现已逾期，请尽快提交。",
                                            bureau=_bureau(filing), title=title, date=filing.submit_by.isoformat()))
        return int(sent)
    left = working_days_between(today, filing.submit_by)
    for milestone in sorted(REMINDER_MILESTONES):
        if left <= milestone:
            sent = _notify(filing, f"submit-{milestone}",
                           _("【%(bureau)s】贵单位《%(title)s》须在%(date)s前报送备案，还剩%(n)s个工作日。",
                             bureau=_bureau(filing), title=title, date=filing.submit_by.isoformat(), n=left))
            return int(sent)
    return 0


def working_days_left(filing: Filing, today: date | None = None) -> int | None:
    """Working days left on the clock that runs now (submission or decision); negative when overdue."""
    today = today or local_today()
    deadline = filing.decide_by if filing.status == FilingStatus.submitted else (
        filing.submit_by if filing.status in (FilingStatus.due, FilingStatus.returned) else None)
    if deadline is None:
        return None
    try:
        return working_days_between(today, deadline)
    except CalendarNotCovered:
        return None  # the admin has not entered that year's holidays yet (the banner says so)


# --- helpers -----------------------------------------------------------------------------------

def _title(filing: Filing) -> str:
    return f"{filing.version.plan.title} v{filing.version.number}"


def _bureau(filing: Filing) -> str:
    return filing.enterprise.township.jurisdiction.bureau_name


def _notify(filing: Filing, milestone: str, body: str) -> bool:
    """SMS to the enterprise's safety manager, once per filing and milestone."""
    from emergency.messaging import campaigns as campaign_ops
    from emergency.messaging.models import Campaign, Contact

    key = f"filing-{filing.id}-{milestone}"
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.source_key == key)) is not None:
        return False
    enterprise: Enterprise = filing.enterprise
    contact_id = db.session.scalar(sa.select(Contact.id).where(
        Contact.enterprise_id == enterprise.id, Contact.register_role == "safety_manager"))
    audience = {"contact_ids": [contact_id]} if contact_id else {"phones": [enterprise.safety_manager_mobile]}
    campaign_ops.create_campaign(None, {
        "kind": "notice", "title": _("Filing: %(title)s", title=_title(filing)), "body": body, "priority": "normal",
        "ack_requested": False, **audience}, enterprise_id=enterprise.id, source_key=key)
    if milestone.startswith(("submit-", "overdue")):
        _event(filing, None, "reminded", note=body)
    return True


def _render_form_later(filing_id: int) -> None:
    def enqueue() -> None:
        from scheduler.tasks import plans as plan_tasks

        plan_tasks.render_filing_form(filing_id)

    on_commit(enqueue)
