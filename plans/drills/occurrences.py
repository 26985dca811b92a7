"""Occurrences: materialise what cycles and statutory obligations ask for, fulfil and excuse them.

Everything here is idempotent: keys are stable, so repeating a refresh adds nothing, and an
edited cycle updates its future occurrences in place (same ids, same calendar UIDs).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.organisations.obligations import has_obligation
from emergency.core.timeutil import SHANGHAI, local_today, to_local, utcnow
from emergency.workdays import calendar as workdays
from plans.plan.models import Plan, PlanKind, VersionStatus

from plans.drills import recurrence
from plans.drills.models import Drill, DrillCycle, Occurrence

logger = logging.getLogger(__name__)

#: How far ahead cycle occurrences are laid out (a quarter, so quarterly drills show in calendars).
HORIZON_DAYS = 100


# --- cycles ---------------------------------------------------------------------------------------

def cycle_key(cycle_id: int, day: date) -> str:
    return f"c{cycle_id}-{day.isoformat()}"


def _scheduled_at(cycle: DrillCycle, day: date) -> datetime:
    hour, minute = (int(part) for part in cycle.start_time.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(timezone.utc)


def refresh_cycle(cycle: DrillCycle, today: date | None = None) -> int:
    """Lay out the cycle's occurrences up to the horizon; future undone ones follow edits.

    An occurrence is identified by the date the rule gives (its key); with 遇节假日顺延 on,
    one that falls on a day off is moved to the next working day (``moved_from`` keeps the
    rule's date), provisionally — on weekends only — in a year whose holidays are not
    confirmed, and moved again when they are. Past occurrences (and any done or excused) are
    history and stay as they are. Returns the number of occurrences added.
    """
    today = today or local_today()
    future = {occ.key: occ for occ in db.session.scalars(sa.select(Occurrence).where(
        Occurrence.cycle_id == cycle.id, Occurrence.due_on >= today,
        Occurrence.drill_id.is_(None), Occurrence.excused_at.is_(None)))}
    wanted: list[date] = []
    if cycle.active:
        created = to_local(cycle.created_at).date() if cycle.created_at else today
        begin = max(cycle.starts_on, min(created, today))
        until = today + timedelta(days=HORIZON_DAYS)
        if cycle.ends_on is not None:
            until = min(until, cycle.ends_on)
        wanted = recurrence.dates(cycle.rule, cycle.starts_on, begin, until)
    existing_keys = set(db.session.scalars(sa.select(Occurrence.key).where(Occurrence.cycle_id == cycle.id)))
    added = 0
    for day in wanted:
        key = cycle_key(cycle.id, day)
        occ = future.pop(key, None)
        if occ is None and key in existing_keys:
            continue  # done, excused or past: history
        actual, provisional_year = day, None
        if cycle.shift_holidays:
            actual = workdays.next_working_day(day)
            provisional_year = workdays.unconfirmed_year(day, actual)
        if occ is None:
            occ = Occurrence(key=key, enterprise_id=cycle.enterprise_id, cycle_id=cycle.id, due_on=actual)
            db.session.add(occ)
            added += 1
        occ.due_on = actual
        occ.moved_from = day if actual != day else None
        occ.provisional_year = provisional_year
        occ.scheduled_at = _scheduled_at(cycle, actual)
        occ.duration_minutes = cycle.duration_minutes
        occ.window_start = actual
        occ.window_end = actual + timedelta(days=cycle.grace_days)
    for occ in future.values():  # no longer planned (rule changed, cycle ended or stopped)
        db.session.delete(occ)
    db.session.flush()
    return added


def reshift_cycles(today: date | None = None) -> int:
    """Lay out again every active cycle that moves drills off days off (after a calendar change)."""
    cycles = db.session.scalars(sa.select(DrillCycle).where(
        DrillCycle.active.is_(True), DrillCycle.shift_holidays.is_(True)).order_by(DrillCycle.id)).all()
    for cycle in cycles:
        refresh_cycle(cycle, today)
    return len(cycles)


# --- statutory obligations (article 33) -------------------------------------------------------------

def _half_year(day: date) -> tuple[str, date, date]:
    if day.month <= 6:
        return f"{day.year}H1", date(day.year, 1, 1), date(day.year, 6, 30)
    return f"{day.year}H2", date(day.year, 7, 1), date(day.year, 12, 31)


def obligation_windows(enterprise: Enterprise, day: date) -> list[dict]:
    """The statutory occurrences that apply to the enterprise in the period containing ``day``."""
    result = []
    if not enterprise.active:
        return result
    if has_obligation(enterprise, "drill_yearly"):
        result.append({"key": f"o-yearly-e{enterprise.id}-{day.year}", "obligation": "drill_yearly",
                       "plan_id": None, "window_start": date(day.year, 1, 1), "window_end": date(day.year, 12, 31)})
    half, start, end = _half_year(day)
    if has_obligation(enterprise, "drill_half_yearly_report"):
        result.append({"key": f"o-report-e{enterprise.id}-{half}", "obligation": "drill_half_yearly_report",
                       "plan_id": None, "window_start": start, "window_end": end})
    if has_obligation(enterprise, "drill_onsite_half_yearly"):
        onsite = db.session.scalars(sa.select(Plan.id).where(
            Plan.enterprise_id == enterprise.id, Plan.kind == PlanKind.onsite, Plan.active.is_(True),
            Plan.versions.any(status=VersionStatus.published)).order_by(Plan.id)).all()
        for plan_id in onsite:
            result.append({"key": f"o-onsite-p{plan_id}-{half}", "obligation": "drill_onsite_half_yearly",
                           "plan_id": plan_id, "window_start": start, "window_end": end})
    return result


def refresh_obligations(enterprise: Enterprise, today: date | None = None) -> int:
    """Add the statutory occurrences of the current periods that do not exist yet."""
    today = today or local_today()
    windows = obligation_windows(enterprise, today)
    have = set(db.session.scalars(sa.select(Occurrence.key).where(
        Occurrence.key.in_([w["key"] for w in windows])))) if windows else set()
    added = 0
    for window in windows:
        if window["key"] in have:
            continue
        db.session.add(Occurrence(enterprise_id=enterprise.id, due_on=window["window_end"],
                                  duration_minutes=0, **window))
        added += 1
    db.session.flush()
    return added


def refresh_all(today: date | None = None) -> dict[str, int]:
    """The daily refresh: extend every active cycle and open the current statutory periods."""
    today = today or local_today()
    counts = {"cycles": 0, "obligations": 0}
    for cycle in db.session.scalars(sa.select(DrillCycle).where(DrillCycle.active.is_(True))
                                    .order_by(DrillCycle.id)).all():
        counts["cycles"] += refresh_cycle(cycle, today)
    for enterprise in db.session.scalars(sa.select(Enterprise).where(Enterprise.active.is_(True))
                                         .order_by(Enterprise.id)).all():
        counts["obligations"] += refresh_obligations(enterprise, today)
    db.session.commit()
    return counts


# --- fulfilment -----------------------------------------------------------------------------------

def drill_day(drill: Drill) -> date:
    return to_local(drill.started_at).date()


def _satisfies(drill: Drill, occ: Occurrence) -> bool:
    kinds = {v.plan.kind for v in drill.versions}
    if occ.obligation == "drill_yearly":
        return bool(kinds & {PlanKind.comprehensive, PlanKind.special})
    if occ.obligation == "drill_onsite_half_yearly":
        return any(v.plan_id == occ.plan_id for v in drill.versions)
    if occ.obligation == "drill_half_yearly_report":
        return drill.reported_at is not None and bool(drill.versions)
    return False


def fulfil(drill: Drill, occurrence_ids: list[int] | None = None) -> list[Occurrence]:
    """Link the drill to the occurrences it fulfils: the ones named, else those it matches.

    A cycle's drill fulfils the open occurrence whose window holds the drill's day, or else the
    most recent missed one (done late); a drill of the right plans inside a statutory period
    fulfils that period's obligation.
    """
    day = drill_day(drill)
    for occ in list(drill.occurrences):  # a corrected record is matched afresh
        occ.drill = None
    db.session.flush()
    refresh_obligations(drill.enterprise, day)
    open_ = sa.and_(Occurrence.enterprise_id == drill.enterprise_id, Occurrence.drill_id.is_(None),
                    Occurrence.excused_at.is_(None))
    chosen: list[Occurrence] = []
    if occurrence_ids:
        chosen = list(db.session.scalars(sa.select(Occurrence).where(open_, Occurrence.id.in_(occurrence_ids))))
        if len(chosen) != len(set(occurrence_ids)):
            raise ValidationError({"occurrence_ids": [_("Choose open occurrences of this enterprise.")]})
    else:
        if drill.cycle_id is not None:
            in_cycle = sa.and_(open_, Occurrence.cycle_id == drill.cycle_id)
            occ = db.session.scalar(sa.select(Occurrence).where(
                in_cycle, Occurrence.window_start <= day, Occurrence.window_end >= day).order_by(Occurrence.due_on))
            if occ is None:
                occ = db.session.scalar(sa.select(Occurrence).where(in_cycle, Occurrence.window_end < day)
                                        .order_by(Occurrence.due_on.desc()))
            if occ is not None:
                chosen.append(occ)
        chosen += [occ for occ in db.session.scalars(sa.select(Occurrence).where(
            open_, Occurrence.obligation.is_not(None), Occurrence.window_start <= day,
            Occurrence.window_end >= day).order_by(Occurrence.id)) if _satisfies(drill, occ)]
    for occ in chosen:
        occ.drill = drill
    db.session.flush()
    return chosen


def excuse(actor, occurrence: Occurrence, reason: str) -> Occurrence:
    """Excuse an occurrence with a reason; statutory ones only an officer may excuse."""
    if occurrence.drill_id is not None:
        raise ValidationError({"occurrence": [_("A drill already fulfils this occurrence.")]})
    if occurrence.excused_at is not None:
        raise ValidationError({"occurrence": [_("This occurrence is already excused.")]})
    if occurrence.obligation is not None and not getattr(actor, "is_officer", False):
        raise ValidationError({"occurrence": [_("Statutory drills (article 33) can be excused only by the bureau.")]})
    occurrence.excused_at = utcnow()
    occurrence.excused_by_id = getattr(actor, "id", None)
    occurrence.excuse_reason = reason
    db.session.flush()
    audit.record(actor, "excuse", "drill_occurrence", occurrence.id, enterprise_id=occurrence.enterprise_id,
                 summary=f"{occurrence.title} {occurrence.due_on.isoformat()}", changes={"reason": reason})
    return occurrence
