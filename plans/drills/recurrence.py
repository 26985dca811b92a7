"""Drill recurrences: presets for the county's rhythm and custom rules, expanded to local dates.

A rule is a small dict (stored as JSON on the cycle):

- ``{"freq": "weekly", "weekdays": [0, 3], "interval": 1}`` — Monday = 0 … Sunday = 6;
  ``interval`` 2 means every other week (counted from the week of ``starts_on``).
- ``{"freq": "monthly", "day": 31}`` — by date; a month without that day uses its last day.
- ``{"freq": "monthly", "nth": 5, "weekday": 4}`` — the n-th weekday (``nth`` -1 = last); a
  month without a fifth Friday uses its last Friday, so a month is never silently skipped.
- ``{"freq": "quarterly", "month": 1, ...}`` — ``month`` 1–3 within the quarter, then by
  ``day`` or by ``nth`` + ``weekday`` as for monthly.
- ``{"freq": "yearly", "month": 6, ...}`` — ``month`` 1–12, then by day or n-th weekday.

Dates are Asia/Shanghai calendar dates; the cycle's start time is applied by the caller.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError

FREQUENCIES = ("weekly", "monthly", "quarterly", "yearly")

#: The county's rhythm "每周一小练、每月一大练、每季度一检验", with default day, time and windows.
PRESETS: dict[str, dict[str, Any]] = {
    # Every Monday 09:00, within the working week.
    "weekly_small": {"rule": {"freq": "weekly", "weekdays": [0], "interval": 1}, "start_time": "09:00",
                     "duration_minutes": 30, "grace_days": 4, "lead_days": 1, "drill_form": "tabletop"},
    # The first Friday of the month, 14:30, within a week.
    "monthly_large": {"rule": {"freq": "monthly", "nth": 1, "weekday": 4}, "start_time": "14:30",
                      "duration_minutes": 120, "grace_days": 6, "lead_days": 3, "drill_form": "field"},
    # The first week of each quarter: its first Monday, done within that week.
    "quarterly_check": {"rule": {"freq": "quarterly", "month": 1, "nth": 1, "weekday": 0}, "start_time": "09:00",
                        "duration_minutes": 180, "grace_days": 6, "lead_days": 7, "drill_form": "field"},
}


def validate(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule normalised, or a ValidationError naming the field ("rule.<part>")."""
    errors: dict[str, list[str]] = {}
    freq = rule.get("freq")
    if freq not in FREQUENCIES:
        raise ValidationError({"rule.freq": [_("Choose weekly, monthly, quarterly or yearly.")]})
    clean: dict[str, Any] = {"freq": freq}

    def integer(name: str, low: int, high: int, *, allow: tuple[int, ...] = ()) -> int | None:
        value = rule.get(name)
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[f"rule.{name}"] = [_("Must be a whole number.")]
            return None
        if not (low <= number <= high or number in allow):
            errors[f"rule.{name}"] = [_("Must be between %(low)s and %(high)s.", low=low, high=high)]
            return None
        return number

    if freq == "weekly":
        days = rule.get("weekdays") or []
        try:
            weekdays = sorted({int(d) for d in days})
        except (TypeError, ValueError):
            weekdays = [-1]
        if not weekdays:
            errors["rule.weekdays"] = [_("Choose at least one day of the week.")]
        elif any(d < 0 or d > 6 for d in weekdays):
            errors["rule.weekdays"] = [_("Days of the week are 0 (Monday) to 6 (Sunday).")]
        clean["weekdays"] = weekdays
        clean["interval"] = integer("interval", 1, 8) or 1
    else:
        if freq == "quarterly":
            clean["month"] = integer("month", 1, 3) or 1
        elif freq == "yearly":
            month = integer("month", 1, 12)
            if month is None and "rule.month" not in errors:
                errors["rule.month"] = [_("Choose the month.")]
            clean["month"] = month
        day = integer("day", 1, 31)
        nth = integer("nth", 1, 5, allow=(-1,))
        weekday = integer("weekday", 0, 6)
        if day is not None and (nth is not None or weekday is not None):
            errors["rule.day"] = [_("Give either a day of the month or an n-th weekday, not both.")]
        elif day is not None:
            clean["day"] = day
        elif nth is not None and weekday is not None:
            clean["nth"], clean["weekday"] = nth, weekday
        elif not any(f"rule.{k}" in errors for k in ("day", "nth", "weekday")):
            errors["rule.day"] = [_("Give a day of the month, or an n-th weekday (e.g. the first Friday).")]
    if errors:
        raise ValidationError(errors)
    return clean


def _month_day(year: int, month: int, rule: dict[str, Any]) -> date:
    last = calendar.monthrange(year, month)[1]
    if "day" in rule:
        return date(year, month, min(rule["day"], last))
    weekday, nth = rule["weekday"], rule["nth"]
    first = date(year, month, 1)
    first_match = first + timedelta(days=(weekday - first.weekday()) % 7)
    last_day = date(year, month, last)
    last_match = last_day - timedelta(days=(last_day.weekday() - weekday) % 7)
    if nth == -1:
        return last_match
    candidate = first_match + timedelta(weeks=nth - 1)
    return candidate if candidate.month == month else last_match


def _months(rule: dict[str, Any], start: date) -> Iterator[tuple[int, int]]:
    freq = rule["freq"]
    if freq == "monthly":
        step, month = 1, start.month
    elif freq == "quarterly":
        step = 3
        month = (start.month - 1) // 3 * 3 + rule["month"]
    else:
        step, month = 12, rule["month"]
    year = start.year
    while True:
        yield year, month
        month += step
        while month > 12:
            month -= 12
            year += 1


def dates(rule: dict[str, Any], starts_on: date, frm: date, until: date) -> list[date]:
    """Planned dates of a rule from ``frm`` to ``until`` (inclusive), never before ``starts_on``."""
    frm = max(frm, starts_on)
    if until < frm:
        return []
    result: list[date] = []
    if rule["freq"] == "weekly":
        anchor = starts_on - timedelta(days=starts_on.weekday())  # Monday of the first week
        interval = rule.get("interval", 1)
        week = frm - timedelta(days=frm.weekday())
        offset = ((week - anchor).days // 7) % interval
        if offset:
            week += timedelta(weeks=interval - offset)
        while week <= until:
            for weekday in rule["weekdays"]:
                day = week + timedelta(days=weekday)
                if frm <= day <= until:
                    result.append(day)
            week += timedelta(weeks=interval)
        return result
    # Start one period early so that a period beginning before ``frm`` is still considered.
    begin = date(frm.year - 1, 1, 1)
    for year, month in _months(rule, begin):
        if date(year, month, 1) > until:
            break
        day = _month_day(year, month, rule)
        if frm <= day <= until:
            result.append(day)
    return result


def describe(rule: dict[str, Any]) -> str:
    """The rule in words, in the interface language."""
    names = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
    freq = rule["freq"]
    if freq == "weekly":
        days = "、".join(names[d] for d in rule["weekdays"])
        if rule.get("interval", 1) > 1:
            return _("Every %(n)s weeks on %(days)s", n=rule["interval"], days=days)
        return _("Every week on %(days)s", days=days)
    if "day" in rule:
        which = _("day %(day)s", day=rule["day"])
    elif rule["nth"] == -1:
        which = _("the last %(weekday)s", weekday=names[rule["weekday"]])
    else:
        which = _("the %(nth)s. %(weekday)s", nth=rule["nth"], weekday=names[rule["weekday"]])
    if freq == "monthly":
        return _("Every month, %(which)s", which=which)
    if freq == "quarterly":
        return _("Every quarter, month %(month)s, %(which)s", month=rule["month"], which=which)
    return _("Every year, month %(month)s, %(which)s", month=rule["month"], which=which)
