"""Chinese working days, for statutory clocks (file within 20 working days, decide within 5).

Whether a date is a working day, in this order:

1. an override entered by the admin (``CalendarDay``) for that date always wins;
2. otherwise chinese-calendar, when its data covers the year (2004–2026 in 1.11);
3. otherwise, when the admin has entered at least one override for the year (its official
   notice), weekends are off and weekdays are worked, apart from the overrides;
4. otherwise ``CalendarNotCovered(year)`` is raised. Nothing is guessed: a statutory deadline
   computed on a made-up calendar would be wrong without anyone noticing.

Deadlines: "within N working days of X" ends with the N-th working day *after* X; X itself
never counts, whether or not it is a working day. ``add_working_days(X, N)`` is that day and
``working_days_between(X, add_working_days(X, N)) == N``.

Each year's overrides are read once per unit of work (request, queue task, CLI command):
they are kept on ``flask.g`` and dropped whenever an override is flushed or the session rolls
back, so a 20-day clock costs one query, not twenty, and never sees a stale calendar.
"""
from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
import sqlalchemy as sa
from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from .models import CalendarDay, DayKind

#: The most days one clock may look ahead for the n-th working day (guards against loops).
_MAX_SPAN_DAYS = 3660

#: chinese-calendar names its holidays in English; the notice and the duty room use Chinese.
PACKAGE_NAMES_ZH: dict[str, str] = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


class CalendarNotCovered(LookupError):
    """The working days of ``year`` are unknown: the package has no data and no override was entered."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(f"the working-day calendar of {year} is not known: "
                         f"enter that year's official holidays on /admin/calendar")

    @property
    def message(self) -> str:
        """What to tell a user, in their language."""
        return _("The working days of %(year)s are not known yet: an administrator must enter the "
                 "official holidays of %(year)s (the State Council notice) on the working-day calendar "
                 "page before deadlines in %(year)s can be computed.", year=self.year)


class Coverage(str, enum.Enum):
    """Where a year's working days come from."""

    #: chinese-calendar has the year's data (overrides, if any, still win).
    package = "package"
    #: Only the admin's overrides: weekends off, weekdays worked, apart from the overrides.
    overrides = "overrides"
    #: Neither: working days of the year cannot be computed.
    none = "none"


class Source(str, enum.Enum):
    """Why a date is (not) a working day."""

    override = "override"
    package = "package"
    #: An ordinary weekday or weekend in a year known only from overrides.
    weekdays = "weekdays"


@dataclass(frozen=True)
class Override:
    kind: DayKind
    name: str


@dataclass(frozen=True)
class DayInfo:
    """One date of the calendar."""

    day: date
    working: bool
    #: holiday / workday for a day off or a worked weekend day, None for an ordinary day.
    kind: DayKind | None
    #: Holiday name (Chinese), "" for an ordinary day.
    name: str
    source: Source


@functools.cache
def package_covers(year: int) -> bool:
    """Whether the installed chinese-calendar has data for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


def _package_day(day: date) -> DayInfo:
    """The package's answer for a day of a covered year."""
    is_holiday, english = chinese_calendar.get_holiday_detail(day)
    name = PACKAGE_NAMES_ZH.get(english, english or "")
    if is_holiday:
        kind = DayKind.holiday if name else None
    else:
        kind = DayKind.workday if name else None
    return DayInfo(day, not is_holiday, kind, name, Source.package)


def usual_working_day(day: date) -> bool:
    """Whether ``day`` is worked without looking at overrides: the package, or Monday to Friday.

    Raises nothing; used to check that a worked-weekend override names a day that is otherwise off.
    """
    if package_covers(day.year):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


class WorkdayCalendar:
    """The calendar for one unit of work; reads each year's overrides once."""

    def __init__(self) -> None:
        self._years: dict[int, dict[date, Override]] = {}

    def overrides(self, year: int) -> dict[date, Override]:
        """The admin's overrides for ``year`` (one query, then kept)."""
        found = self._years.get(year)
        if found is None:
            rows = db.session.execute(
                sa.select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
                .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
            ).all()
            found = {row.day: Override(row.kind, row.name) for row in rows}
            self._years[year] = found
        return found

    def coverage(self, year: int) -> Coverage:
        if package_covers(year):
            return Coverage.package
        if self.overrides(year):
            return Coverage.overrides
        return Coverage.none

    def day(self, day: date) -> DayInfo:
        """Everything known about ``day``; raises CalendarNotCovered for an unknown year."""
        override = self.overrides(day.year).get(day)
        if override is not None:
            return DayInfo(day, override.kind == DayKind.workday, override.kind, override.name, Source.override)
        coverage = self.coverage(day.year)
        if coverage == Coverage.package:
            return _package_day(day)
        if coverage == Coverage.overrides:
            return DayInfo(day, day.weekday() < 5, None, "", Source.weekdays)
        raise CalendarNotCovered(day.year)

    def is_working_day(self, day: date) -> bool:
        return self.day(day).working

    def add_working_days(self, start: date, n: int) -> date:
        if n < 0:
            raise ValueError("n must be zero or more")
        day, left = start, n
        for _step in range(_MAX_SPAN_DAYS):
            if left == 0:
                return day
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        raise ValueError(f"{n} working days after {start} is too far ahead")

    def working_days_between(self, a: date, b: date) -> int:
        if b < a:
            return -self.working_days_between(b, a)
        if (b - a).days > _MAX_SPAN_DAYS:
            raise ValueError(f"{a} to {b} is too long a span")
        return sum(1 for day in _days(a + timedelta(days=1), b) if self.is_working_day(day))

    def special_days(self, year: int) -> list[DayInfo]:
        """The year's days off and worked weekend days with their source, by date.

        Package holidays (including weekend days inside them) and worked weekends, with the
        overrides replacing them; ordinary weekends are left out. Raises CalendarNotCovered.
        """
        coverage = self.coverage(year)
        if coverage == Coverage.none:
            raise CalendarNotCovered(year)
        overrides = self.overrides(year)
        found: list[DayInfo] = []
        for day in _days(date(year, 1, 1), date(year, 12, 31)):
            if day in overrides:
                found.append(self.day(day))
            elif coverage == Coverage.package:
                info = _package_day(day)
                if info.kind is not None:
                    found.append(info)
        return found

    def month_weeks(self, year: int, month: int) -> list[list[DayInfo | None]]:
        """A month as weeks Monday–Sunday (None outside the month), for a grid."""
        first = date(year, month, 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        cells: list[DayInfo | None] = [None] * first.weekday()
        cells += [self.day(day) for day in _days(first, last)]
        cells += [None] * (-len(cells) % 7)
        return [cells[i:i + 7] for i in range(0, len(cells), 7)]


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --- the calendar of the current unit of work ---------------------------------------------

def current() -> WorkdayCalendar:
    """The calendar kept on ``flask.g`` for this request, task or command."""
    calendar = g.get("_workday_calendar")
    if calendar is None:
        calendar = g._workday_calendar = WorkdayCalendar()
    return calendar


def invalidate() -> None:
    """Forget the overrides read so far (called when they change)."""
    if has_app_context():
        g.pop("_workday_calendar", None)


@event.listens_for(Session, "after_flush")
def _overrides_flushed(session: Session, _context) -> None:
    if any(isinstance(obj, CalendarDay) for obj in (*session.new, *session.dirty, *session.deleted)):
        invalidate()


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(_session: Session, _previous) -> None:
    # Overrides read after an uncommitted flush may have been rolled back with it.
    invalidate()


# --- the public functions -------------------------------------------------------------------

def is_working_day(day: date) -> bool:
    """Whether ``day`` is a Chinese working day. Raises CalendarNotCovered for an unknown year."""
    return current().is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start``: the last day of "within n working days of start".

    ``start`` itself never counts; ``n == 0`` gives ``start``. Raises CalendarNotCovered when
    the count reaches a year whose working days are unknown.
    """
    return current().add_working_days(start, n)


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

    Working days left until a deadline: ``working_days_between(today, deadline)`` (0 on the
    deadline itself, negative once it has passed); working days used of a clock that started
    on ``start``: ``working_days_between(start, today)``.
    """
    return current().working_days_between(a, b)


def year_covered(year: int) -> bool:
    """Whether working days of ``year`` can be computed (package data or admin overrides)."""
    return current().coverage(year) != Coverage.none


def coverage(year: int) -> Coverage:
    """Where the working days of ``year`` come from: package, overrides or none."""
    return current().coverage(year)


def day_info(day: date) -> DayInfo:
    """Whether ``day`` is worked, why, and the holiday's name. Raises CalendarNotCovered."""
    return current().day(day)


def special_days(year: int) -> list[DayInfo]:
    """The days off and worked weekend days of ``year``. Raises CalendarNotCovered."""
    return current().special_days(year)


def next_year_missing(today: date) -> int | None:
    """In December, next year when its working days are unknown (the admin must enter them); else None."""
    if today.month != 12:
        return None
    year = today.year + 1
    return year if coverage(year) == Coverage.none else None
