"""What the drill calendars show: occurrences and drill records over a date range.

A county month holds tens of thousands of occurrences (2,000 enterprises with weekly cycles),
so only what is shown leaves the database: the totals per day (for "+N more"), then each day's
first ``per_day`` items read in cell order from ``ix_drill_occurrence_day`` (drills from the
``started_at`` index), then just those rows with their enterprise, cycle and plan. Each day's
first rows are one LATERAL query on PostgreSQL and one small query a day on SQLite. The
township / industry / enterprise filters are conditions on the enterprise column.
"""
from __future__ import annotations

import calendar as stdlib_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import SHANGHAI, to_local
from plans.plan.models import Plan

from plans.drills.models import (
    OBLIGATION_LABELS,
    OCCURRENCE_STATUS_LABELS,
    Drill,
    DrillCycle,
    Occurrence,
    status_sql,
)


@dataclass
class CalendarItem:
    """One thing in a day cell: an occurrence (with its status) or a drill record."""

    kind: str  # "occurrence" or "drill"
    id: int
    day: date
    title: str
    status: str  # occurrence status, or "record" for drill records
    enterprise_id: int
    enterprise_name: str
    starts_at: datetime | None  # local time, None for obligations (a window only)
    minutes: int
    window_start: date | None = None
    window_end: date | None = None
    key: str = ""

    @property
    def status_label(self) -> str:
        if self.kind == "drill":
            return ""
        return str(OCCURRENCE_STATUS_LABELS[self.status])

    @property
    def time_label(self) -> str:
        return self.starts_at.strftime("%H:%M") if self.starts_at else ""


@dataclass
class Days:
    """Items per day, and how many each day holds in all."""

    items: dict[date, list[CalendarItem]]
    totals: dict[date, int]

    def more(self, day: date) -> int:
        return self.totals.get(day, 0) - len(self.items.get(day, []))


def month_weeks(year: int, month: int) -> list[list[date]]:
    """The month's weeks, Monday first, padded with the neighbouring months' days."""
    return stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)


def week_days(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def _conditions(user, filters: dict[str, Any], enterprise_column) -> list:
    """Who may see what, and the township / industry / enterprise filters, as conditions on the
    record's enterprise column (no join: the enterprise filters are a sub-select)."""
    conditions = []
    if not user.is_officer:
        conditions.append(enterprise_column == user.enterprise_id)
    elif filters.get("enterprise_id"):
        conditions.append(enterprise_column == filters["enterprise_id"])
    narrowing = []
    if filters.get("township_id"):
        narrowing.append(Enterprise.township_id == filters["township_id"])
    if filters.get("industry"):
        narrowing.append(Enterprise.industry == filters["industry"])
    if narrowing:
        conditions.append(enterprise_column.in_(sa.select(Enterprise.id).where(*narrowing)))
    return conditions


def occurrence_title(obligation: str | None, cycle_name: str | None, plan_title: str | None) -> str:
    """Occurrence.title from selected columns (no extra queries per row)."""
    if cycle_name is not None:
        return cycle_name
    label = str(OBLIGATION_LABELS.get(obligation or "", obligation))
    return f"{label}：{plan_title}" if plan_title else label


def occurrences_by_day(user, filters: dict[str, Any], first: date, last: date, today: date,
                       per_day: int) -> Days:
    """Occurrences due from ``first`` to ``last``: at most ``per_day`` a day, with each day's total.

    Three small steps instead of one window over the whole range: the totals per day, the first
    ``per_day`` ids of each day, then those few rows with their enterprise, cycle and plan.
    """
    conditions = _conditions(user, filters, Occurrence.enterprise_id)
    totals = dict(db.session.execute(
        sa.select(Occurrence.due_on, sa.func.count()).where(
            Occurrence.due_on >= first, Occurrence.due_on <= last, *conditions)
        .group_by(Occurrence.due_on)).all())
    chosen = _first_occurrences(sorted(totals), conditions, per_day)
    days = Days({}, {day: total for day, total in totals.items()})
    if not chosen:
        return days
    rows = db.session.execute(
        sa.select(Occurrence.id, Occurrence.key, Occurrence.due_on, Occurrence.scheduled_at,
                  Occurrence.duration_minutes, Occurrence.window_start, Occurrence.window_end,
                  Occurrence.obligation, Enterprise.id.label("enterprise_id"),
                  Enterprise.name.label("enterprise_name"), DrillCycle.name.label("cycle_name"),
                  Plan.title.label("plan_title"), status_sql(today).label("status"))
        .join(Enterprise, Enterprise.id == Occurrence.enterprise_id)
        .outerjoin(DrillCycle, DrillCycle.id == Occurrence.cycle_id)
        .outerjoin(Plan, Plan.id == Occurrence.plan_id)
        .where(Occurrence.id.in_(chosen))
        .order_by(Occurrence.due_on, Occurrence.scheduled_at.is_(None), Occurrence.scheduled_at,
                  Occurrence.enterprise_id, Occurrence.id)).all()
    for row in rows:
        days.items.setdefault(row.due_on, []).append(CalendarItem(
            kind="occurrence", id=row.id, day=row.due_on, key=row.key,
            title=occurrence_title(row.obligation, row.cycle_name, row.plan_title), status=row.status,
            enterprise_id=row.enterprise_id, enterprise_name=row.enterprise_name,
            starts_at=to_local(row.scheduled_at), minutes=row.duration_minutes,
            window_start=row.window_start, window_end=row.window_end))
    return days


def _local_day(column):
    """The Asia/Shanghai date of a stored UTC time, in SQL (China keeps UTC+8 all year)."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.date(column, "+8 hours")
    return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)


def drills_by_day(user, filters: dict[str, Any], first: date, last: date, per_day: int) -> Days:
    """Drill records held from ``first`` to ``last`` (local days), at most ``per_day`` a day:
    the totals per local day, then each day's first records through the ``started_at`` index."""
    conditions = _conditions(user, filters, Drill.enterprise_id)
    day = _local_day(Drill.started_at)
    totals = {}
    for on, total in db.session.execute(
            sa.select(day, sa.func.count()).where(
                Drill.started_at >= local_midnight_utc(first),
                Drill.started_at < local_midnight_utc(last + timedelta(days=1)), *conditions)
            .group_by(day)).all():
        totals[on if isinstance(on, date) else date.fromisoformat(on)] = total
    days = Days({}, totals)
    chosen = _first_drills(sorted(totals), conditions, per_day)
    if not chosen:
        return days
    rows = db.session.execute(
        sa.select(Drill.id, Drill.title, Drill.started_at, Drill.duration_minutes,
                  Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise_name"))
        .join(Enterprise, Enterprise.id == Drill.enterprise_id)
        .where(Drill.id.in_(chosen)).order_by(Drill.started_at, Drill.id)).all()
    for row in rows:
        on = to_local(row.started_at).date()
        days.items.setdefault(on, []).append(CalendarItem(
            kind="drill", id=row.id, day=on, title=row.title, status="record", enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name, starts_at=to_local(row.started_at), minutes=row.duration_minutes))
    return days


# --- each day's first rows: one LATERAL query on PostgreSQL, one small query a day on SQLite -----

def _first_occurrences(days: list[date], conditions: list, per_day: int) -> list[int]:
    """Ids of each day's first ``per_day`` occurrences: timed ones by time, then statutory windows
    (no time), then by enterprise and id — the order of ``ix_drill_occurrence_day``."""
    in_order = (Occurrence.scheduled_at, Occurrence.enterprise_id, Occurrence.id)
    if not days:
        return []
    if db.engine.dialect.name == "postgresql":  # NULLs sort last there: the index order is the cell order
        wanted = sa.values(sa.column("day", sa.Date), name="wanted").data([(day,) for day in days])
        top = (sa.select(Occurrence.id).where(Occurrence.due_on == wanted.c.day, *conditions)
               .order_by(*in_order).limit(per_day).lateral("top"))
        return list(db.session.scalars(sa.select(top.c.id).select_from(wanted).join(top, sa.true())))
    chosen: list[int] = []
    for day in days:
        timed = db.session.scalars(
            sa.select(Occurrence.id).where(Occurrence.due_on == day, Occurrence.scheduled_at.is_not(None),
                                           *conditions).order_by(*in_order).limit(per_day)).all()
        chosen += timed
        if len(timed) < per_day:
            chosen += db.session.scalars(
                sa.select(Occurrence.id).where(Occurrence.due_on == day, Occurrence.scheduled_at.is_(None),
                                               *conditions).order_by(*in_order).limit(per_day - len(timed))).all()
    return chosen


def _first_drills(days: list[date], conditions: list, per_day: int) -> list[int]:
    """Ids of each local day's first ``per_day`` drill records, by start time (``started_at`` index)."""
    if not days:
        return []
    bounds = [(local_midnight_utc(day), local_midnight_utc(day + timedelta(days=1))) for day in days]
    if db.engine.dialect.name == "postgresql":
        wanted = sa.values(sa.column("lo", sa.DateTime(timezone=True)), sa.column("hi", sa.DateTime(timezone=True)),
                           name="wanted").data(bounds)
        top = (sa.select(Drill.id).where(Drill.started_at >= wanted.c.lo, Drill.started_at < wanted.c.hi,
                                         *conditions)
               .order_by(Drill.started_at, Drill.id).limit(per_day).lateral("top"))
        return list(db.session.scalars(sa.select(top.c.id).select_from(wanted).join(top, sa.true())))
    chosen: list[int] = []
    for lo, hi in bounds:
        chosen += db.session.scalars(sa.select(Drill.id).where(Drill.started_at >= lo, Drill.started_at < hi,
                                                               *conditions)
                                     .order_by(Drill.started_at, Drill.id).limit(per_day)).all()
    return chosen
