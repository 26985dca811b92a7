"""Chinese working days, for statutory clocks (file within 20 working days, decide within 5).

Whether a date is a working day, in this order:

1. an override entered by the admin (``CalendarDay``) for that date always wins;
2. otherwise chinese-calendar, when its data covers the year (2004–2026 in 1.11);
3. otherwise weekends are off and weekdays are worked.

Clocks count only what is final: in a year that is not confirmed they count Monday to Friday,
whatever has been entered so far (the entries show on the calendar page and in ``day_info``).

A clock never stops because a year is not known yet: every function answers for every year.
What changes is whether the answer is final. A year is **confirmed** when the package covers
it, or when the admin has entered its State Council notice and marked it complete
(``CalendarYear.complete``, 通知已全部录入). A deadline counted across a year that is not
confirmed is **provisional** (暂定): ``deadline()`` says which year makes it so, callers store
and show that, and ``plans.filing.clocks`` recomputes every open clock when the year is
confirmed. Counted on weekends only, a provisional deadline is the earliest the real one can
be (days off only push it later; a worked weekend day of the notice can at most bring back
one that holidays pushed), so an enterprise shown it is never misled into lateness;
the bureau's own clock is never deemed to have run out on a provisional date.

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

from emergency.core.extensions import db
from emergency.workdays.models import CalendarDay, CalendarYear, DayKind

#: The most days one clock may look ahead for the n-th working day (guards against loops).
_MAX_SPAN_DAYS = 3660

#: chinese-calendar names its holidays in English; the notice and the duty room use Chinese.
PACKAGE_NAMES_ZH: dict[str, str] = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


class Coverage(str, enum.Enum):
    """Where a year's working days come from, and whether they are final."""

    #: chinese-calendar has the year's data (overrides, if any, still win). Confirmed.
    package = "package"
    #: The admin entered the year's notice and marked it complete. Confirmed.
    notice = "notice"
    #: Some entries, not marked complete: weekends off, weekdays worked, apart from the
    #: entries. Provisional.
    overrides = "overrides"
    #: Nothing known yet: weekends off, weekdays worked. Provisional.
    none = "none"

    @property
    def confirmed(self) -> bool:
        return self in (Coverage.package, Coverage.notice)


#: The holidays every State Council notice names (全国年节及纪念日放假办法), with the word that
#: finds each in an entry's name: the calendar page counts which a year's entries have.
USUAL_HOLIDAYS: tuple[tuple[str, str], ...] = (
    ("元旦", "元旦"), ("春节", "春节"), ("清明", "清明节"), ("劳动", "劳动节"),
    ("端午", "端午节"), ("中秋", "中秋节"), ("国庆", "国庆节"),
)


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
    #: The year is not confirmed: the answer may change when its notice is entered.
    provisional: bool = False


@dataclass(frozen=True)
class Deadline:
    """The last day of a clock, and whether it is final."""

    day: date
    #: The first year the count runs into that is not confirmed; None when the date is final.
    provisional_year: int | None = None

    @property
    def provisional(self) -> bool:
        return self.provisional_year is not None


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
        self._complete: set[int] | None = None

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

    def completed_years(self) -> set[int]:
        """Years whose notice the admin marked complete (one query, then kept)."""
        if self._complete is None:
            self._complete = set(db.session.scalars(sa.select(CalendarYear.year).where(CalendarYear.complete)))
        return self._complete

    def coverage(self, year: int) -> Coverage:
        if package_covers(year):
            return Coverage.package
        if year in self.completed_years():
            return Coverage.notice
        if self.overrides(year):
            return Coverage.overrides
        return Coverage.none

    def confirmed(self, year: int) -> bool:
        return self.coverage(year).confirmed

    def day(self, day: date) -> DayInfo:
        """Everything known about ``day``, for any year (provisional where not confirmed)."""
        provisional = not self.confirmed(day.year)
        override = self.overrides(day.year).get(day)
        if override is not None:
            return DayInfo(day, override.kind == DayKind.workday, override.kind, override.name, Source.override,
                           provisional)
        if package_covers(day.year):
            return _package_day(day)
        return DayInfo(day, day.weekday() < 5, None, "", Source.weekdays, provisional)

    def is_working_day(self, day: date) -> bool:
        """Whether clocks count ``day``: the calendar in a confirmed year; Monday to Friday in a
        year that is not (entries of an incomplete notice are shown, not counted, so that a
        provisional deadline is the earliest possible one and moves only once, when the year is
        confirmed)."""
        if self.confirmed(day.year):
            return self.day(day).working
        return day.weekday() < 5

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

    def unconfirmed_year(self, first: date, last: date) -> int | None:
        """The first year from ``first`` to ``last`` (inclusive) that is not confirmed, if any."""
        return next((year for year in range(first.year, last.year + 1) if not self.confirmed(year)), None)

    def deadline(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start``, and the year that makes it provisional, if any."""
        day = self.add_working_days(start, n)
        first = start + timedelta(days=1) if n else start
        return Deadline(day, self.unconfirmed_year(first, day))

    def next_working_day(self, day: date) -> date:
        """``day`` itself when worked, else the first working day after it (遇节假日顺延)."""
        for _step in range(_MAX_SPAN_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day after {day}")

    def working_days_between(self, a: date, b: date) -> int:
        if b < a:
            return -self.working_days_between(b, a)
        if (b - a).days > _MAX_SPAN_DAYS:
            raise ValueError(f"{a} to {b} is too long a span")
        return sum(1 for day in _days(a + timedelta(days=1), b) if self.is_working_day(day))

    def special_days(self, year: int) -> list[DayInfo]:
        """The year's days off and worked weekend days with their source, by date.

        Package holidays (including weekend days inside them) and worked weekends, with the
        overrides replacing them; ordinary weekends are left out.
        """
        coverage = self.coverage(year)
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

    def usual_holidays(self, year: int) -> list[tuple[str, bool]]:
        """Each usual holiday (USUAL_HOLIDAYS) and whether the year's entries name it."""
        names = [o.name for o in self.overrides(year).values() if o.kind == DayKind.holiday]
        return [(label, any(word in name for name in names)) for word, label in USUAL_HOLIDAYS]

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
    if any(isinstance(obj, CalendarDay | CalendarYear) for obj in (*session.new, *session.dirty, *session.deleted)):
        invalidate()


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(_session: Session, _previous) -> None:
    # Overrides read after an uncommitted flush may have been rolled back with it.
    invalidate()


# --- the public functions -------------------------------------------------------------------

def is_working_day(day: date) -> bool:
    """Whether ``day`` is a Chinese working day (provisionally, in a year not confirmed)."""
    return current().is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start``: the last day of "within n working days of start".

    ``start`` itself never counts; ``n == 0`` gives ``start``. Never fails for a year that is
    not known yet: use ``deadline()`` to learn whether the date is provisional.
    """
    return current().add_working_days(start, n)


def deadline(start: date, n: int) -> Deadline:
    """``add_working_days(start, n)`` with the year, if any, that makes it provisional."""
    return current().deadline(start, n)


def next_working_day(day: date) -> date:
    """``day`` when it is worked, else the next working day (遇节假日顺延)."""
    return current().next_working_day(day)


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

    Working days left until a deadline: ``working_days_between(today, deadline)`` (0 on the
    deadline itself, negative once it has passed); working days used of a clock that started
    on ``start``: ``working_days_between(start, today)``.
    """
    return current().working_days_between(a, b)


def confirmed(year: int) -> bool:
    """Whether the working days of ``year`` are final (package data, or the admin's completed notice)."""
    return current().confirmed(year)


def unconfirmed_year(first: date, last: date) -> int | None:
    """The first year from ``first`` to ``last`` whose working days are not final, if any."""
    return current().unconfirmed_year(first, last)


def coverage(year: int) -> Coverage:
    """Where the working days of ``year`` come from: package, notice, overrides or none."""
    return current().coverage(year)


def day_info(day: date) -> DayInfo:
    """Whether ``day`` is worked, why, and the holiday's name."""
    return current().day(day)


def special_days(year: int) -> list[DayInfo]:
    """The days off and worked weekend days of ``year`` (entries only, for a year the package lacks)."""
    return current().special_days(year)


def next_year_missing(today: date) -> int | None:
    """In December, next year when its working days are not confirmed (the admin must enter them); else None."""
    if today.month != 12:
        return None
    year = today.year + 1
    return None if confirmed(year) else year


def provisional_note(year: int | None) -> str:
    """"暂定（2027 年节假日安排尚未录入）" in the current language; "" for a final date."""
    if year is None:
        return ""
    return _("provisional (the holidays of %(year)s have not been entered yet)", year=str(year))
