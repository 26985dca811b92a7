"""The two statutory clocks of a filing, and their recomputation when the calendar changes.

- submit-by: 20 working days from the publication date the enterprise recorded (公布日期,
  article 26: the version's ``signed_on``), whenever the record was saved;
- decide-by: 5 working days from the last (re)submission.

Each is stored with the year, if any, that makes it provisional (``*_provisional_year``): the
count ran into a year whose holidays are not confirmed (``emergency.workdays.calendar``).
When the calendar changes (an entry, or a year marked complete), ``recompute()`` — run by the
worker, one job — counts every open clock again, audits each change with the old and new date,
and tells each enterprise whose submission deadline moved by one SMS.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import date

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.workdays import calendar

from plans.filing import notices
from plans.filing.models import Filing, FilingEvent, FilingStatus

logger = logging.getLogger(__name__)
SUBMIT_WORKING_DAYS = 20
DECIDE_WORKING_DAYS = 5


def set_submit_by(filing: Filing) -> calendar.Deadline:
    found = calendar.deadline(filing.clock_start, SUBMIT_WORKING_DAYS)
    filing.submit_by, filing.submit_by_provisional_year = found.day, found.provisional_year
    return found


def set_decide_by(filing: Filing, submitted_on: date) -> calendar.Deadline:
    found = calendar.deadline(submitted_on, DECIDE_WORKING_DAYS)
    filing.decide_by, filing.decide_by_provisional_year = found.day, found.provisional_year
    return found


def date_text(day: date | None, provisional_year: int | None) -> str:
    """A deadline as SMS and notes write it: "2027-01-05", or with "（暂定…）" when provisional."""
    if day is None:
        return ""
    if provisional_year is None:
        return day.isoformat()
    return f"{day.isoformat()} {calendar.provisional_note(provisional_year)}"


def recompute() -> dict[str, int]:
    """Count every open clock again; change, audit and announce what moved. Safe to repeat.

    Returns counts: ``checked`` clocks, ``moved`` (the date changed), ``confirmed`` (became final
    on the same date), ``notified`` enterprises.
    """
    counts = {"checked": 0, "moved": 0, "confirmed": 0, "notified": 0}
    moved: dict[int, list[tuple[Filing, date, int | None]]] = {}
    filings = db.session.scalars(sa.select(Filing).where(Filing.status.in_(
        [FilingStatus.due, FilingStatus.returned, FilingStatus.submitted])).order_by(Filing.id)).all()
    for filing in filings:
        counts["checked"] += 1
        if filing.status == FilingStatus.submitted and filing.decide_from is not None:
            old = (filing.decide_by, filing.decide_by_provisional_year)
            new = set_decide_by(filing, filing.decide_from)
            field = "decide_by"
        else:
            old = (filing.submit_by, filing.submit_by_provisional_year)
            new = set_submit_by(filing)
            field = "submit_by"
        if old == (new.day, new.provisional_year):
            continue
        if old[0] == new.day:
            counts["confirmed"] += 1
        else:
            counts["moved"] += 1
            if field == "submit_by":
                moved.setdefault(filing.enterprise_id, []).append((filing, old[0], old[1]))
        note = _("%(field)s recomputed from the working-day calendar: %(old)s → %(new)s.",
                 field=_("Submit by") if field == "submit_by" else _("Decide by"),
                 old=date_text(*old), new=date_text(new.day, new.provisional_year))
        db.session.add(FilingEvent(filing=filing, action="rescheduled", note=note))
        audit.record(None, "reschedule", "filing", filing.id, enterprise_id=filing.enterprise_id,
                     summary=f"{filing.version.plan.title} v{filing.version.number}",
                     changes={field: [old[0].isoformat() if old[0] else None, new.day.isoformat()],
                              f"{field}_provisional_year": [old[1], new.provisional_year]})
    db.session.flush()
    for items in moved.values():
        counts["notified"] += int(_announce(items))
    db.session.commit()
    if counts["moved"] or counts["confirmed"]:
        logger.info("filing clocks recomputed: %s", counts)
    return counts


def _announce(items: list[tuple[Filing, date, int | None]]) -> bool:
    """One SMS to the enterprise for all its filings whose submission deadline moved."""
    first = items[0][0]
    years = sorted({old_year or filing.submit_by.year for filing, _old, old_year in items})
    with force_locale("zh_CN"):  # SMS texts are Chinese
        listed = "；".join(_("《%(title)s》调整为%(date)s", title=filing.version.plan.title,
                            date=date_text(filing.submit_by, filing.submit_by_provisional_year))
                          for filing, _old, _year in items)
        body = _("【%(bureau)s】贵单位备案期限已按%(years)s年节假日安排调整：%(items)s。",
                 bureau=notices.bureau_name(first), years="、".join(map(str, years)), items=listed)
    digest = hashlib.sha256("|".join(f"{f.id}:{f.submit_by.isoformat()}:{f.submit_by_provisional_year}"
                                     for f, _old, _y in items).encode()).hexdigest()[:16]
    return notices.notify(first, "clocks", body, key=f"filing-clocks-e{first.enterprise_id}-{digest}")


def held(today: date) -> sa.Select:
    """Submitted filings whose decision clock has run out on a provisional date: the sweep holds
    them until the year is confirmed (待确认日历后判定)."""
    return sa.select(Filing).where(Filing.status == FilingStatus.submitted, Filing.decide_by < today,
                                   Filing.decide_by_provisional_year.is_not(None))
