"""Changes to the calendar overrides. Each flushes and writes audit entries; the caller commits."""
from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.auth.models import User
from emergency.core.extensions import db
from emergency.core.timeutil import utcnow
from emergency.workdays import calendar, rules
from emergency.workdays.models import CalendarDay, CalendarYear, DayKind
from emergency.core.signals import calendar_changed

logger = logging.getLogger(__name__)

_NOT_AUDITED = frozenset({"created_at", "updated_at"})


def add_days(actor: User | None, entries: list[rules.Entry], *, source: str = "form") -> list[CalendarDay]:
    """Store validated entries, all or none: a date that already has an override is refused.

    ``source`` ("form", "notice", "api", "cli") is noted in the audit trail.
    """
    stored = rules.existing([entry.day for entry in entries])
    if stored:
        day = min(stored)
        field = "lines" if source == "notice" else "date"
        raise ValidationError({field: [rules.taken_message(day, stored[day])]})
    created = []
    for entry in entries:
        row = CalendarDay(day=entry.day, kind=entry.kind, name=entry.name, created_by_id=getattr(actor, "id", None))
        db.session.add(row)
        created.append(row)
    db.session.flush()
    for row in created:
        audit.record(actor, "create", "calendar_day", row.id, summary=str(row),
                     changes={**audit.snapshot(row, exclude=_NOT_AUDITED), "source": source})
    if len(created) > 1:
        audit.record(actor, "import", "calendar_day", None,
                     summary=_("%(n)s calendar days entered (%(first)s to %(last)s)", n=len(created),
                               first=min(r.day for r in created).isoformat(),
                               last=max(r.day for r in created).isoformat()),
                     changes={"count": len(created), "dates": [r.day.isoformat() for r in created], "source": source})
    logger.info("%s calendar overrides added by %s", len(created), getattr(actor, "username", "system"))
    calendar_changed.send(actor, years={row.day.year for row in created})
    return created


def update_day(actor: User, row: CalendarDay, data: dict[str, Any]) -> dict[str, list]:
    """Change the kind or name of an override; returns the changed fields."""
    problems = rules.range_problems(row.day, None, data["kind"], data.get("name", ""))
    if problems:
        raise ValidationError({("kind" if field in ("date", "end") else field): [message]
                               for field, message in problems.items()})
    row.kind = data["kind"]
    row.name = data.get("name", "")
    changes = audit.pending_changes(row, exclude=_NOT_AUDITED)
    if changes:
        audit.record(actor, "update", "calendar_day", row.id, summary=str(row), changes=changes)
    db.session.flush()
    if changes:
        calendar_changed.send(actor, years={row.day.year})
    return changes


def delete_day(actor: User | None, row: CalendarDay) -> None:
    """Remove an override: the date follows the package (or the weekday rule) again."""
    audit.record(actor, "delete", "calendar_day", row.id, summary=str(row),
                 changes=audit.snapshot(row, exclude=_NOT_AUDITED))
    year = row.day.year
    db.session.delete(row)
    db.session.flush()
    calendar_changed.send(actor, years={year})


def complete_year(actor: User | None, year: int) -> CalendarYear:
    """Mark the year's notice as entered completely (通知已全部录入): the year is confirmed.

    Refused for a year the package covers (it is confirmed already) and for a year without a
    single day off entered (a notice always has some).
    """
    if calendar.package_covers(year):
        raise ValidationError({"year": [_("chinese-calendar already covers %(year)s: it is confirmed.",
                                          year=str(year))]})
    cal = calendar.current()
    if not any(o.kind == DayKind.holiday for o in cal.overrides(year).values()):
        raise ValidationError({"year": [_("Enter the days off of %(year)s from the notice first.", year=str(year))]})
    row = db.session.get(CalendarYear, year) or CalendarYear(year=year)
    if row.complete:
        raise ValidationError({"year": [_("%(year)s is already marked complete.", year=str(year))]})
    row.complete, row.completed_at, row.completed_by_id = True, utcnow(), getattr(actor, "id", None)
    db.session.add(row)
    db.session.flush()
    missing = [label for label, present in cal.usual_holidays(year) if not present]
    audit.record(actor, "complete", "calendar_year", year, summary=_("Holiday notice of %(year)s complete",
                                                                      year=str(year)),
                 changes={"complete": [False, True], "days": len(cal.overrides(year)), "usual_missing": missing})
    calendar_changed.send(actor, years={year})
    return row


def reopen_year(actor: User | None, year: int) -> CalendarYear:
    """Take back the completion: the year's deadlines are provisional again until completed."""
    row = db.session.get(CalendarYear, year)
    if row is None or not row.complete:
        raise ValidationError({"year": [_("%(year)s is not marked complete.", year=str(year))]})
    row.complete, row.completed_at, row.completed_by_id = False, None, None
    db.session.flush()
    audit.record(actor, "reopen", "calendar_year", year, summary=_("Holiday notice of %(year)s reopened",
                                                                    year=str(year)),
                 changes={"complete": [True, False]})
    calendar_changed.send(actor, years={year})
    return row
