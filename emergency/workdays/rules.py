"""What a calendar override may say, and the notice-paste format, shared by forms, API and CLI.

A line of the bulk form names one date or a range, whether the days are off or worked, and
the holiday, in any order after the first date::

    2027-01-01 2027-01-03 元旦 holiday
    2027-02-06 至 2027-02-14 春节 放假
    2027-02-07 workday 春节调休
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _

from emergency.core.extensions import db
from emergency.workdays.calendar import usual_working_day
from emergency.workdays.models import CalendarDay, DayKind

MIN_YEAR, MAX_YEAR = 2004, 2099
#: The longest range one line or request may give (the Spring Festival is 8–9 days).
MAX_RANGE_DAYS = 31
MAX_NAME = 50
MAX_LINES = 400

KIND_WORDS: dict[str, DayKind] = {
    "holiday": DayKind.holiday, "放假": DayKind.holiday, "休": DayKind.holiday, "休息": DayKind.holiday,
    "workday": DayKind.workday, "上班": DayKind.workday, "班": DayKind.workday, "补班": DayKind.workday,
}
#: Words that may stand between the two dates of a range.
RANGE_WORDS = {"至", "到", "-", "~", "～", "—", "–", "to"}
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DATE_LIKE = re.compile(r"^\d{2,4}[-/.]\d")
#: "2027-10-01至2027-10-07" written without spaces.
_RANGE_JOIN = re.compile(r"(\d)\s*[至到~～]\s*(\d)")


@dataclass(frozen=True)
class Entry:
    """One date to store as an override; ``line`` is its line in a pasted notice (0 otherwise)."""

    day: date
    kind: DayKind
    name: str
    line: int = 0


def weekday_name(day: date) -> str:
    return format_date(day, "EEEE")


def entry_label(kind: DayKind, name: str) -> str:
    return f"{name} {kind.label}".strip()


def range_problems(start: date, end: date | None, kind: DayKind, name: str) -> dict[str, str]:
    """The rules one date or range breaks, by field ({} when it may be stored)."""
    problems: dict[str, str] = {}
    end = end or start
    if end < start:
        problems["end"] = _("The range ends (%(end)s) before it starts (%(start)s).",
                            end=end.isoformat(), start=start.isoformat())
    elif (end - start).days + 1 > MAX_RANGE_DAYS:
        problems["end"] = _("A range may cover at most %(max)s days.", max=MAX_RANGE_DAYS)
    for field, day in (("date", start), ("end", end)):
        if not MIN_YEAR <= day.year <= MAX_YEAR and field not in problems:
            problems[field] = _("Dates must be in the years %(min)s to %(max)s.", min=MIN_YEAR, max=MAX_YEAR)
    if kind == DayKind.holiday and not name:
        problems["name"] = _("Name the holiday, e.g. 国庆节.")
    if len(name) > MAX_NAME:
        problems["name"] = _("The name may have at most %(max)s characters.", max=MAX_NAME)
    if not problems and kind == DayKind.workday:
        for day in days_of(start, end):
            message = day_problem(day, kind)
            if message:
                problems["date" if day == start else "end"] = message
                break
    return problems


def day_problem(day: date, kind: DayKind) -> str | None:
    """Why ``day`` cannot be an override of ``kind``, or None."""
    if kind == DayKind.workday and usual_working_day(day):
        return _("%(date)s is a %(weekday)s and already a working day: a worked day (调休) must be a day "
                 "that is otherwise off, such as a weekend.", date=day.isoformat(), weekday=weekday_name(day))
    return None


def days_of(start: date, end: date | None) -> list[date]:
    end = end or start
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def existing(days: list[date]) -> dict[date, CalendarDay]:
    """The overrides already stored for any of ``days`` (one query)."""
    if not days:
        return {}
    rows = db.session.scalars(sa.select(CalendarDay).where(CalendarDay.day.in_(sorted(set(days))))).all()
    return {row.day: row for row in rows}


def taken_message(day: date, row: CalendarDay) -> str:
    return _("%(date)s already has an entry (%(entry)s): change or delete it first.",
             date=day.isoformat(), entry=entry_label(row.kind, row.name))


# --- the bulk paste ---------------------------------------------------------------------------

def _line_error(line: int, problem: str) -> str:
    return _("Line %(line)s: %(problem)s", line=line, problem=problem)


def _parse_date(token: str) -> date | None:
    match = _DATE.match(token)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _parse_line(number: int, text: str) -> tuple[list[Entry], str | None]:
    """The entries of one line, or the first rule it breaks."""
    tokens = text.split()
    dates: list[date] = []
    kinds: set[DayKind] = set()
    name_parts: list[str] = []
    for index, token in enumerate(tokens):
        parsed = _parse_date(token)
        if parsed is not None:
            if name_parts or kinds:
                return [], _("Give the dates first, then holiday or workday and the name.")
            dates.append(parsed)
        elif _DATE_LIKE.match(token) or _DATE.match(token):
            return [], _("“%(text)s” is not a date; write dates as YYYY-MM-DD.", text=token)
        elif index == 0:
            return [], _("Begin the line with a date (YYYY-MM-DD).")
        elif token.lower() in KIND_WORDS:
            kinds.add(KIND_WORDS[token.lower()])
        elif token.lower() in RANGE_WORDS and not name_parts and not kinds:
            continue
        else:
            name_parts.append(token)
    if len(dates) > 2:
        return [], _("Give one date, or the first and last date of a range.")
    if not kinds:
        return [], _("Say whether the days are off (holiday) or worked (workday).")
    if len(kinds) > 1:
        return [], _("Give either holiday or workday, not both.")
    kind = kinds.pop()
    name = " ".join(name_parts)
    start, end = dates[0], dates[-1]
    problems = range_problems(start, end, kind, name)
    if problems:
        return [], next(iter(problems.values()))
    return [Entry(day, kind, name, number) for day in days_of(start, end)], None


def parse_notice(text: str) -> tuple[list[Entry], list[str]]:
    """Every entry of a pasted notice, or every line's problem (all or nothing).

    Blank lines and lines starting with # are skipped. Dates already stored, or given on two
    lines, are problems too.
    """
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(number, line) for number, line in lines if line and not line.startswith("#")]
    if not lines:
        return [], [_("Enter at least one line.")]
    if len(lines) > MAX_LINES:
        return [], [_("Enter at most %(max)s lines at a time.", max=MAX_LINES)]
    entries: list[Entry] = []
    problems: dict[int, str] = {}
    first_line: dict[date, int] = {}
    for number, line in lines:
        found, problem = _parse_line(number, _RANGE_JOIN.sub(r"\1 \2", line))
        if problem:
            problems[number] = problem
            continue
        for entry in found:
            if entry.day in first_line:
                problems[number] = _("%(date)s is also on line %(other)s.",
                                     date=entry.day.isoformat(), other=first_line[entry.day])
                break
            first_line[entry.day] = number
        else:
            entries.extend(found)
    stored = existing([entry.day for entry in entries])
    for entry in entries:
        row = stored.get(entry.day)
        if row is not None and entry.line not in problems:
            problems[entry.line] = taken_message(entry.day, row)
    if problems:
        return [], [_line_error(number, problems[number]) for number in sorted(problems)]
    return entries, []
