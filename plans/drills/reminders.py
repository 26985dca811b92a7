"""Drill reminders by SMS and the officers' daily digest (run by the scheduler through the queue).

Each occurrence that is neither done nor excused has up to three milestones: ``lead`` (from
``due_on - lead_days``, cycles only), ``day`` (on ``due_on``, cycles only) and ``overdue`` (the
day after ``window_end``, cycles and statutory obligations, only while recently overdue). Every
milestone is one campaign whose ``source_key`` is ``drill-occ-<id>-<milestone>``, so a repeated
sweep or a restarted scheduler never sends it twice. Reminders are normal priority: quiet hours
apply. The digest is one campaign a day (``drill-digest-<date>``) to the bureau's staff.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from emergency.core.extensions import db
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging.audience import has_role
from emergency.messaging.models import Campaign, Contact, OrgKind
from emergency.organisations.models import Enterprise, Jurisdiction, Township
from emergency.core.timeutil import local_today, to_local
from emergency.workdays import calendar as workdays

from plans.drills.models import ActionStatus, CorrectiveAction, DrillCycle, Occurrence

logger = logging.getLogger(__name__)

#: Overdue reminders go out only while an occurrence is at most this many days overdue
#: (a late sweep catches up; old history is not messaged).
OVERDUE_REMINDER_DAYS = 7
#: How many of the worst items the digest names.
DIGEST_WORST = 3


def occurrence_key(occurrence_id: int, milestone: str) -> str:
    return f"drill-occ-{occurrence_id}-{milestone}"


def digest_key(day: date) -> str:
    return f"drill-digest-{day.isoformat()}"


# --- finding what is due ----------------------------------------------------------------------

def _open():
    return sa.and_(Occurrence.drill_id.is_(None), Occurrence.excused_at.is_(None))


def due_milestones(today: date) -> list[tuple[Occurrence, str]]:
    """(occurrence, milestone) pairs whose reminder is due today (sent or not)."""
    base = (sa.select(Occurrence).where(_open())
            .options(joinedload(Occurrence.enterprise).joinedload(Enterprise.township)
                     .joinedload(Township.jurisdiction), joinedload(Occurrence.cycle), joinedload(Occurrence.plan)))
    found: list[tuple[Occurrence, str]] = []
    # Lead: from due_on - lead_days up to the day before. One indexed range per lead_days value.
    leads = db.session.scalars(sa.select(DrillCycle.lead_days).where(DrillCycle.lead_days > 0).distinct()).all()
    for lead in sorted(leads):
        rows = db.session.scalars(base.join(DrillCycle, Occurrence.cycle_id == DrillCycle.id).where(
            DrillCycle.lead_days == lead, Occurrence.due_on > today,
            Occurrence.due_on <= today + timedelta(days=lead)).order_by(Occurrence.id)).unique().all()
        found += [(occ, "lead") for occ in rows]
    rows = db.session.scalars(base.where(Occurrence.cycle_id.is_not(None), Occurrence.due_on == today)
                              .order_by(Occurrence.id)).unique().all()
    found += [(occ, "day") for occ in rows]
    rows = db.session.scalars(base.where(
        Occurrence.window_end < today,
        Occurrence.window_end >= today - timedelta(days=OVERDUE_REMINDER_DAYS)).order_by(Occurrence.id)).unique().all()
    found += [(occ, "overdue") for occ in rows]
    return found


# --- recipients and texts --------------------------------------------------------------------

def _audience(occ: Occurrence, managers: dict[int, int]) -> dict[str, list]:
    """The enterprise's safety manager (register contact, else the register's mobile) and the cycle's contacts."""
    contact_ids: list[int] = []
    phones: list[str] = []
    manager = managers.get(occ.enterprise_id)
    if manager is not None:
        contact_ids.append(manager)
    elif occ.enterprise.safety_manager_mobile:
        phones.append(occ.enterprise.safety_manager_mobile)
    if occ.cycle is not None:
        contact_ids += [c.id for c in occ.cycle.contacts if c.active and c.id not in contact_ids]
    return {"contact_ids": contact_ids, "phones": phones}


def _window(occ: Occurrence) -> str:
    if occ.window_start == occ.window_end:
        return occ.window_start.isoformat()
    return _("%(start)s to %(end)s", start=occ.window_start.isoformat(), end=occ.window_end.isoformat())


def reminder_text(occ: Occurrence, milestone: str) -> str:
    """The Chinese SMS of a milestone (call inside ``force_locale("zh_CN")``)."""
    bureau = occ.enterprise.township.jurisdiction.bureau_name
    values = {"bureau": bureau, "enterprise": occ.enterprise.name, "drill": occ.title, "window": _window(occ)}
    if occ.scheduled_at is not None:
        values["when"] = to_local(occ.scheduled_at).strftime("%Y-%m-%d %H:%M")
    else:
        values["when"] = occ.due_on.isoformat()
    if occ.provisional_year is not None:  # may still move to the next working day
        values["when"] = f"{values['when']} {workdays.provisional_note(occ.provisional_year)}"
    if milestone == "lead":
        return _("[%(bureau)s] %(enterprise)s: the drill \"%(drill)s\" is planned for %(when)s "
                 "(on time within %(window)s). Please prepare.", **values)
    if milestone == "day":
        return _("[%(bureau)s] %(enterprise)s: the drill \"%(drill)s\" is planned for today, %(when)s "
                 "(on time within %(window)s). Please record it in the system afterwards.", **values)
    return _("[%(bureau)s] %(enterprise)s: the drill \"%(drill)s\" (due within %(window)s) is overdue. "
             "Please drill and record it as soon as possible.", **values)


# --- the sweep -------------------------------------------------------------------------------

def sweep(today: date | None = None) -> dict[str, int]:
    """Send the reminders due today that have not been sent; safe to repeat."""
    today = today or local_today()
    due = due_milestones(today)
    counts = {"lead": 0, "day": 0, "overdue": 0}
    if not due:
        return counts
    keys = [occurrence_key(occ.id, milestone) for occ, milestone in due]
    sent = set()
    for start in range(0, len(keys), 500):  # one query per 500 keys (bound-parameter limits)
        sent |= set(db.session.scalars(sa.select(Campaign.source_key).where(
            Campaign.source_key.in_(keys[start:start + 500]))))
    enterprise_ids = {occ.enterprise_id for occ, _m in due}
    managers = dict(db.session.execute(sa.select(Contact.enterprise_id, Contact.id).where(
        Contact.enterprise_id.in_(enterprise_ids), Contact.register_role == "safety_manager",
        Contact.active.is_(True))).all())
    for occ, milestone in due:
        key = occurrence_key(occ.id, milestone)
        if key in sent:
            continue
        audience = _audience(occ, managers)
        if not audience["contact_ids"] and not audience["phones"]:
            logger.warning("drill occurrence %s: nobody to remind (%s)", occ.id, milestone)
            continue
        with force_locale("zh_CN"):  # SMS texts are Chinese whatever anybody's screen language
            body = reminder_text(occ, milestone)
            title = _("Drill reminder: %(enterprise)s %(drill)s", enterprise=occ.enterprise.name, drill=occ.title)
        campaign_ops.create_campaign(None, {
            "kind": "drill_reminder", "title": title[:200], "body": body, "priority": "normal",
            "ack_requested": False, **audience}, enterprise_id=occ.enterprise_id, source_key=key)
        sent.add(key)
        counts[milestone] += 1
        db.session.commit()  # each reminder on its own: a failure later does not unsend it
    return counts


# --- the officers' digest ----------------------------------------------------------------------

def overdue_figures(today: date) -> dict:
    """Counts and the worst (longest overdue) drills and corrective actions of the county."""
    overdue_occ = sa.and_(_open(), Occurrence.window_end < today)
    occ_count = db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence).where(overdue_occ)) or 0
    worst_occ = db.session.scalars(sa.select(Occurrence).where(overdue_occ)
                                   .options(joinedload(Occurrence.enterprise), joinedload(Occurrence.cycle),
                                            joinedload(Occurrence.plan))
                                   .order_by(Occurrence.window_end, Occurrence.id).limit(DIGEST_WORST)).all()
    overdue_action = sa.and_(CorrectiveAction.status == ActionStatus.open, CorrectiveAction.due_on < today)
    action_count = db.session.scalar(sa.select(sa.func.count()).select_from(CorrectiveAction)
                                     .where(overdue_action)) or 0
    worst_actions = db.session.scalars(sa.select(CorrectiveAction).where(overdue_action)
                                       .options(joinedload(CorrectiveAction.enterprise))
                                       .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
                                       .limit(DIGEST_WORST)).all()
    return {"drills": occ_count, "worst_drills": worst_occ, "actions": action_count, "worst_actions": worst_actions}


def digest_text(today: date, figures: dict, bureau: str) -> str:
    """The digest SMS (call inside ``force_locale("zh_CN")``)."""
    sep = _(", ")
    drills = sep.join(_("%(enterprise)s %(drill)s %(days)s days", enterprise=o.enterprise.name, drill=o.title,
                        days=(today - o.window_end).days) for o in figures["worst_drills"])
    actions = sep.join(_("%(enterprise)s %(problem)s %(days)s days", enterprise=a.enterprise.name,
                         problem=a.problem[:20], days=(today - a.due_on).days) for a in figures["worst_actions"])
    return _("[%(bureau)s] Drill digest %(date)s: overdue drills %(drills)s%(drill_items)s; "
             "overdue corrective actions %(actions)s%(action_items)s. Details in the system.",
             bureau=bureau, date=today.isoformat(), drills=figures["drills"], actions=figures["actions"],
             drill_items=_(" (longest: %(items)s)", items=drills) if drills else "",
             action_items=_(" (longest: %(items)s)", items=actions) if actions else "")


def digest(today: date | None = None) -> bool:
    """Send the officers' daily digest once a day, when anything is overdue."""
    today = today or local_today()
    key = digest_key(today)
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.source_key == key)) is not None:
        return False
    figures = overdue_figures(today)
    if not figures["drills"] and not figures["actions"]:
        return False
    # The bureau's own staff: a bureau contact the bureau owns (no enterprise), never a contact an
    # enterprise could have tagged (the digest names other enterprises' overdue work).
    staff = db.session.scalars(sa.select(Contact.id).where(
        Contact.org_kind == OrgKind.bureau, Contact.enterprise_id.is_(None), has_role("bureau_staff"),
        Contact.active.is_(True)).order_by(Contact.id)).all()
    if not staff:
        logger.warning("drill digest %s: no active bureau staff contact to send it to", today)
        return False
    bureau = db.session.scalar(sa.select(Jurisdiction.bureau_name).order_by(Jurisdiction.id)) or ""
    with force_locale("zh_CN"):
        body = digest_text(today, figures, bureau)
        title = _("Drill digest %(date)s", date=today.isoformat())
    campaign_ops.create_campaign(None, {
        "kind": "drill_digest", "title": title, "body": body, "priority": "normal", "ack_requested": False,
        "contact_ids": list(staff)}, source_key=key)
    db.session.commit()
    return True
