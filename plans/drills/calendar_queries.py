"""What the drill calendars show: occurrences and drill records over a date range.

A county month holds tens of thousands of occurrences (2,000 enterprises with weekly cycles),
so only what is shown leaves the database: the totals per day (for "+N more"), then each day's
first ``per_day`` items read in cell order from ``ix_drill_occurrence_day`` (drills from the
``started_at`` index), then just those rows with their enterprise, cycle and plan. That is on
SQLite, whose window functions sort the whole range; PostgreSQL numbers the range's rows per day
in one query faster than it answers a hundred small ones. The township / industry / enterprise
filters are conditions on the enterprise column.
"""
from __future__ import annotations

import calendar as stdlib_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from emergency.extensions import db
from emergency.organisations.models import Enterprise
from emergency.timeutil import SHANGHAI, to_local
from plans.plan.models import Plan

from .models import (
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


def _occurrences_per_day(user, filters: dict[str, Any], first: date, last: date, today: date,
                         per_day: int) -> Days:
    """Occurrences due from ``first`` to ``last``: at most ``per_day`` a day, with each day's total.

    Three small steps instead of one window over the whole range (a county month holds tens of
    thousands of occurrences): the totals per day from the ``due_on`` index, the first
    ``per_day`` ids of each day, then those few rows with their enterprise, cycle and plan.
    """
    conditions = _conditions(user, filters, Occurrence.enterprise_id)
    totals = dict(db.session.execute(
        sa.select(Occurrence.due_on, sa.func.count()).where(
            Occurrence.due_on >= first, Occurrence.due_on <= last, *conditions)
        .group_by(Occurrence.due_on)).all())
    chosen: list[int] = []
    in_order = (Occurrence.scheduled_at, Occurrence.enterprise_id, Occurrence.id)
    for day in sorted(totals):
        # Timed drills first, then statutory windows (no time): each read in the order of
        # ``ix_drill_occurrence_day``, so only the rows shown are touched.
        timed = db.session.scalars(
            sa.select(Occurrence.id).where(Occurrence.due_on == day, Occurrence.scheduled_at.is_not(None),
                                           *conditions).order_by(*in_order).limit(per_day)).all()
        chosen += timed
        if len(timed) < per_day:
            chosen += db.session.scalars(
                sa.select(Occurrence.id).where(Occurrence.due_on == day, Occurrence.scheduled_at.is_(None),
                                               *conditions).order_by(*in_order).limit(per_day - len(timed))).all()
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


def _drills_per_day(user, filters: dict[str, Any], first: date, last: date, per_day: int) -> Days:
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
    for on in sorted(totals):
        rows = db.session.execute(
            sa.select(Drill.id, Drill.title, Drill.started_at, Drill.duration_minutes,
                      Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise_name"))
            .join(Enterprise, Enterprise.id == Drill.enterprise_id)
            .where(Drill.started_at >= local_midnight_utc(on),
                   Drill.started_at < local_midnight_utc(on + timedelta(days=1)), *conditions)
            .order_by(Drill.started_at, Drill.id).limit(per_day)).all()
        days.items[on] = [CalendarItem(
            kind="drill", id=row.id, day=on, title=row.title, status="record", enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name, starts_at=to_local(row.started_at), minutes=row.duration_minutes)
            for row in rows]
    return days


def _occurrences_windowed(user, filters: dict[str, Any], first: date, last: date, today: date,
                       per_day: int) -> Days:
    """Occurrences due from ``first`` to ``last``: at most ``per_day`` a day, with each day's total."""
    number = sa.func.row_number().over(
        partition_by=Occurrence.due_on,
        order_by=(Occurrence.scheduled_at.is_(None), Occurrence.scheduled_at, Occurrence.enterprise_id,
                  Occurrence.id))
    inner = (sa.select(Occurrence.id, Occurrence.key, Occurrence.due_on, Occurrence.scheduled_at,
                       Occurrence.duration_minutes, Occurrence.window_start, Occurrence.window_end,
                       Occurrence.obligation, Enterprise.id.label("enterprise_id"),
                       Enterprise.name.label("enterprise_name"), DrillCycle.name.label("cycle_name"),
                       Plan.title.label("plan_title"), status_sql(today).label("status"),
                       number.label("number"), sa.func.count().over(partition_by=Occurrence.due_on).label("total"))
             .join(Enterprise, Enterprise.id == Occurrence.enterprise_id)
             .outerjoin(DrillCycle, DrillCycle.id == Occurrence.cycle_id)
             .outerjoin(Plan, Plan.id == Occurrence.plan_id)
             .where(Occurrence.due_on >= first, Occurrence.due_on <= last))
    inner = inner.where(*_conditions(user, filters, Occurrence.enterprise_id)).subquery()
    rows = db.session.execute(sa.select(inner).where(inner.c.number <= per_day)
                              .order_by(inner.c.due_on, inner.c.number)).all()
    days = Days({}, {})
    for row in rows:
        days.totals[row.due_on] = row.total
        days.items.setdefault(row.due_on, []).append(CalendarItem(
            kind="occurrence", id=row.id, day=row.due_on, key=row.key,
            title=occurrence_title(row.obligation, row.cycle_name, row.plan_title), status=row.status,
            enterprise_id=row.enterprise_id, enterprise_name=row.enterprise_name,
            starts_at=to_local(row.scheduled_at), minutes=row.duration_minutes,
            window_start=row.window_start, window_end=row.window_end))
    return days


def _drills_windowed(user, filters: dict[str, Any], first: date, last: date, per_day: int) -> Days:
    """Drill records held from ``first`` to ``last`` (local days), at most ``per_day`` a day."""
    day = _local_day(Drill.started_at)
    inner = (sa.select(Drill.id, Drill.title, Drill.started_at, Drill.duration_minutes,
                       Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise_name"),
                       day.label("day"),
                       sa.func.row_number().over(partition_by=day, order_by=(Drill.started_at, Drill.id)).label("number"),
                       sa.func.count().over(partition_by=day).label("total"))
             .join(Enterprise, Enterprise.id == Drill.enterprise_id)
             .where(Drill.started_at >= local_midnight_utc(first),
                    Drill.started_at < local_midnight_utc(last + timedelta(days=1))))
    inner = inner.where(*_conditions(user, filters, Drill.enterprise_id)).subquery()
    rows = db.session.execute(sa.select(inner).where(inner.c.number <= per_day)
                              .order_by(inner.c.day, inner.c.number)).all()
    days = Days({}, {})
    for row in rows:
        on = row.day if isinstance(row.day, date) else date.fromisoformat(row.day)
        started = row.started_at if isinstance(row.started_at, datetime) else datetime.fromisoformat(row.started_at)
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        days.totals[on] = row.total
        days.items.setdefault(on, []).append(CalendarItem(
            kind="drill", id=row.id, day=on, title=row.title, status="record", enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name, starts_at=to_local(started), minutes=row.duration_minutes))
    return days


def _windowed() -> bool:
    """PostgreSQL numbers a range's rows per day in one query quickly; SQLite sorts the whole
    range for a window function, so there each day's first rows are read from the index."""
    return db.engine.dialect.name == "postgresql"


def occurrences_by_day(user, filters: dict[str, Any], first: date, last: date, today: date,
                       per_day: int) -> Days:
    """Occurrences due from ``first`` to ``last``: at most ``per_day`` a day, with each day's total."""
    fetch = _occurrences_windowed if _windowed() else _occurrences_per_day
    return fetch(user, filters, first, last, today, per_day)


def drills_by_day(user, filters: dict[str, Any], first: date, last: date, per_day: int) -> Days:
    """Drill records held from ``first`` to ``last`` (local days), at most ``per_day`` a day."""
    fetch = _drills_windowed if _windowed() else _drills_per_day
    return fetch(user, filters, first, last, per_day)
