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
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.core.queue import enqueue_after_commit
from emergency.organisations.models import Jurisdiction
from emergency.organisations.obligations import has_obligation
from emergency.core.timeutil import local_today, utcnow
from emergency.workdays.calendar import working_days_between
from plans.plan.models import PlanVersion, VersionStatus

from plans.filing import clocks, notices
from plans.filing.clocks import date_text
from plans.filing.models import MATERIALS, OPEN, RETURN_REASONS, Filing, FilingEvent, FilingStatus

logger = logging.getLogger(__name__)
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
    """Open the filing of a published version: due 20 working days after its publication date."""
    enterprise = version.plan.enterprise
    filing = Filing(enterprise_id=enterprise.id, version=version, status=FilingStatus.due,
                    applicant_name=enterprise.safety_manager_name, applicant_phone=enterprise.safety_manager_mobile)
    clocks.set_submit_by(filing)
    db.session.add(filing)
    db.session.flush()
    _event(filing, actor, "opened", note=_("Filing due by %(date)s (20 working days after publication on %(published)s).",
                                           date=date_text(filing.submit_by, filing.submit_by_provisional_year),
                                           published=filing.clock_start.isoformat()))
    audit.record(actor, "open", "filing", filing.id, enterprise_id=enterprise.id,
                 summary=f"{version.plan.title} v{version.number}",
                 changes={"submit_by": filing.submit_by.isoformat(), "published_on": filing.clock_start.isoformat(),
                          "submit_by_provisional_year": filing.submit_by_provisional_year,
                          "key_changes": version.key_changes})
    return filing


def version_published(actor, version: PlanVersion) -> Filing | None:
    """A version was published: open its filing when it must be filed, and settle the filing of
    an earlier version still open (not yet filed).

    The earlier filing is closed as superseded, linked to the new one; when the new version
    needs no filing, the earlier one is carried over to it instead (same clock, same status).
    """
    earlier = db.session.scalars(sa.select(Filing).join(Filing.version).where(
        PlanVersion.plan_id == version.plan_id, PlanVersion.id != version.id,
        Filing.status.in_(list(OPEN))).order_by(Filing.id)).all()
    filing = open_filing(actor, version) if needs_filing(version) else None
    for old in earlier:
        title = f"{old.version.plan.title} v{old.version.number}"
        if filing is not None:
            old.status, old.superseded_by_id = FilingStatus.superseded, filing.id
            _event(old, actor, "superseded", note=_("Version %(n)s was published before this filing was decided: "
                                                     "file that version instead.", n=version.number))
            audit.record(actor, "supersede", "filing", old.id, enterprise_id=old.enterprise_id, summary=title,
                         changes={"status": ["open", "superseded"], "superseded_by": filing.id})
        else:
            previous = old.version.number
            old.version = version
            _event(old, actor, "carried_over", note=_("Carried over from version %(old)s to version %(new)s, "
                                                       "which needs no filing of its own.", old=previous,
                                                       new=version.number))
            audit.record(actor, "carry_over", "filing", old.id, enterprise_id=old.enterprise_id, summary=title,
                         changes={"version": [previous, version.number]})
            filing = old
    db.session.flush()
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
    clocks.set_decide_by(filing, today)
    _event(filing, actor, "resubmitted" if resubmission else "submitted",
           note=_("The bureau decides by %(date)s (5 working days).",
                  date=date_text(filing.decide_by, filing.decide_by_provisional_year)))
    audit.record(actor, "resubmit" if resubmission else "submit", "filing", filing.id,
                 enterprise_id=filing.enterprise_id, summary=notices.title(filing),
                 changes={"decide_by": filing.decide_by.isoformat(),
                          "decide_by_provisional_year": filing.decide_by_provisional_year,
                          "applicant": filing.applicant_name})
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
    audit.record(actor, "accept", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=notices.title(filing),
                 changes={"number": filing.number})
    db.session.flush()
    notices.notify(filing, "accepted", _("【%(bureau)s】贵单位《%(title)s》已备案，备案编号%(number)s。备案登记表可在系统中下载。",
                                  bureau=notices.bureau_name(filing), title=filing.version.plan.title, number=filing.number))
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
    audit.record(actor, "return", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=notices.title(filing),
                 changes={"items": list(items), "note": note})
    db.session.flush()
    with force_locale("zh_CN"):  # SMS texts are Chinese whatever the officer's screen language
        listed = "、".join(str(RETURN_REASONS[i]) for i in items)
    rounds = sum(1 for e in filing.events if e.action == "returned")
    notices.notify(filing, f"returned-{rounds}", _("【%(bureau)s】贵单位《%(title)s》备案材料需补正：%(items)s。请登录系统查看说明并重新提交。",
                                           bureau=notices.bureau_name(filing), title=filing.version.plan.title, items=listed))
    return filing


def deem_filed(filing: Filing) -> None:
    """Five working days passed without a decision: filed by law (逾期视为已备案)."""
    filing.status = FilingStatus.deemed_filed
    filing.decided_at = utcnow()
    _assign_number(filing)
    _event(filing, None, "deemed_filed", note=filing.number)
    audit.record(None, "deem_filed", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=notices.title(filing),
                 changes={"number": filing.number, "decide_by": filing.decide_by.isoformat()})
    db.session.flush()
    notices.notify(filing, "deemed", _("【%(bureau)s】贵单位《%(title)s》备案申请已超过5个工作日未作决定，依法视为已备案，编号%(number)s。",
                                bureau=notices.bureau_name(filing), title=filing.version.plan.title, number=filing.number))
    _render_form_later(filing.id)


# --- sweeps (run by the scheduler through the queue) --------------------------------------------

def sweep(today: date | None = None) -> dict[str, int]:
    """Deem overdue decisions filed and send due reminders; safe to repeat.

    A decision clock that ran out on a provisional date is held, not deemed (待确认日历后判定):
    the real fifth working day may be later. It is noted once on the filing; officers see it
    listed and admins are told on every page until the year is confirmed.
    """
    today = today or local_today()
    counts = {"deemed": 0, "reminded": 0, "held": 0}
    for filing in db.session.scalars(sa.select(Filing).where(
            Filing.status == FilingStatus.submitted, Filing.decide_by < today).order_by(Filing.id)).all():
        if filing.decide_by_provisional_year is None:
            deem_filed(filing)
            counts["deemed"] += 1
        elif not any(e.action == "held" and filing.decide_by.isoformat() in e.items for e in filing.events):
            # Noted once per provisional decide-by (the event's items hold the date it was held on).
            year = filing.decide_by_provisional_year
            _event(filing, None, "held", note=_("Not deemed filed: the holidays of %(year)s are not confirmed, so the "
                                                "5 working days may end later than %(date)s", year=str(year),
                                                date=filing.decide_by.isoformat()),
                   items=[filing.decide_by.isoformat()])
            audit.record(None, "hold", "filing", filing.id, enterprise_id=filing.enterprise_id, summary=notices.title(filing),
                         changes={"decide_by": filing.decide_by.isoformat(), "provisional_year": year})
            logger.warning("filing %s held: decide-by %s is provisional (%s not confirmed)", filing.id,
                           filing.decide_by, year)
            counts["held"] += 1
    db.session.commit()
    for filing in db.session.scalars(sa.select(Filing).where(
            Filing.status.in_([FilingStatus.due, FilingStatus.returned])).order_by(Filing.id)).all():
        counts["reminded"] += remind(filing, today)
    db.session.commit()
    return counts


def remind(filing: Filing, today: date) -> int:
    """The reminder due today for a filing not yet submitted, at most once per milestone."""
    title = filing.version.plan.title
    deadline = date_text(filing.submit_by, filing.submit_by_provisional_year)
    if today > filing.submit_by:
        sent = notices.notify(filing, "overdue", _("【%(bureau)s】贵单位《%(title)s》应于%(date)s前报送备案，现已逾期，请尽快提交。",
                                            bureau=notices.bureau_name(filing), title=title, date=deadline))
        return int(sent)
    left = working_days_between(today, filing.submit_by)
    for milestone in sorted(REMINDER_MILESTONES):
        if left <= milestone:
            sent = notices.notify(filing, f"submit-{milestone}",
                           _("【%(bureau)s】贵单位《%(title)s》须在%(date)s前报送备案，还剩%(n)s个工作日。",
                             bureau=notices.bureau_name(filing), title=title, date=deadline, n=left))
            return int(sent)
    return 0


def working_days_left(filing: Filing, today: date | None = None) -> int | None:
    """Working days left on the clock that runs now (submission or decision); negative when overdue."""
    today = today or local_today()
    deadline = filing.decide_by if filing.status == FilingStatus.submitted else (
        filing.submit_by if filing.status in (FilingStatus.due, FilingStatus.returned) else None)
    if deadline is None:
        return None
    return working_days_between(today, deadline)


# --- helpers -----------------------------------------------------------------------------------

def _render_form_later(filing_id: int) -> None:
    if current_app.config["PDF_PRERENDER"]:
        enqueue_after_commit("filing.render_filing_form", filing_id)
