"""Filings (备案) of published plan versions and their events.

Reminders and notices go out as SMS campaigns keyed by ``filing-<id>-<milestone>``, so that a
repeated sweep or a restarted scheduler never sends one twice.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import UTCDateTime, to_local, utcnow
from plans.plan.models import PlanVersion


class FilingStatus(str, enum.Enum):
    #: Opened at publication: the enterprise must submit within 20 working days.
    due = "due"
    #: Submitted: the bureau decides within 5 working days.
    submitted = "submitted"
    #: Returned with every missing or wrong item listed; the enterprise resubmits.
    returned = "returned"
    accepted = "accepted"
    #: Five working days passed without a decision: filed by law (逾期视为已备案).
    deemed_filed = "deemed_filed"
    #: A later version was published before this one was filed: closed, see ``superseded_by``.
    superseded = "superseded"


FILING_STATUS_LABELS = {
    "due": _l("To be submitted"), "submitted": _l("Awaiting decision"), "returned": _l("Returned"),
    "accepted": _l("Filed"), "deemed_filed": _l("Deemed filed"),
    "superseded": _l("Superseded by a later version"),
}
EVENT_LABELS = {
    "opened": _l("Filing opened"), "submitted": _l("Submitted"), "resubmitted": _l("Resubmitted"),
    "returned": _l("Returned"), "accepted": _l("Filed"), "deemed_filed": _l("Deemed filed"),
    "reminded": _l("Reminder sent"),
    "held": _l("Held until the calendar is confirmed"), "rescheduled": _l("Deadline recomputed"),
    "superseded": _l("Superseded by a later version"), "carried_over": _l("Carried over to a later version"),
}
FILED = frozenset({FilingStatus.accepted, FilingStatus.deemed_filed})
OPEN = frozenset({FilingStatus.due, FilingStatus.submitted, FilingStatus.returned})

#: The statutory materials (article 26); the officer ticks those missing or wrong when returning.
MATERIALS = {
    "application_form": _l("Filing application form"),
    "review_opinion": _l("Expert review opinion"),
    "plan_text": _l("Plan text"),
    "risk_assessment": _l("Risk assessment result"),
    "resource_survey": _l("Emergency resource survey"),
}
#: Further reasons an officer may give for returning a filing.
RETURN_REASONS = {
    **MATERIALS,
    "plan_content": _l("Plan content does not meet GB/T 29639-2020"),
    "signature": _l("Not signed by the principal"),
}


class Filing(db.Model):
    """The filing of one published version, from opening to the bureau's decision."""

    __tablename__ = "filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_version.id"), unique=True)
    status: Mapped[FilingStatus] = mapped_column(sa.Enum(FilingStatus, native_enum=False, length=20),
                                                 default=FilingStatus.due, index=True)
    #: Last day to submit: 20 working days after publication.
    submit_by: Mapped[date] = mapped_column(sa.Date, index=True)
    #: Set while ``submit_by`` runs into a year whose holidays are not confirmed (暂定).
    submit_by_provisional_year: Mapped[int | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last day for the bureau's decision: 5 working days after (re)submission.
    decide_by: Mapped[date | None] = mapped_column(sa.Date, index=True)
    #: Set while ``decide_by`` runs into a year whose holidays are not confirmed: the sweep
    #: never deems such a filing filed (待确认日历后判定) until the year is confirmed.
    decide_by_provisional_year: Mapped[int | None] = mapped_column()
    #: The filing of the later version that closed this one (status superseded).
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("filing.id"))
    #: Who applies: name and phone of the contact person on the application form.
    applicant_name: Mapped[str] = mapped_column(sa.String(50), default="")
    applicant_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    #: Codes of RETURN_REASONS ticked at the last return, and the officer's note.
    return_items: Mapped[list] = mapped_column(sa.JSON, default=list)
    return_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: "330999-2026-0001": county area code, year, sequence in the county and year.
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    version: Mapped[PlanVersion] = relationship()
    events: Mapped[list[FilingEvent]] = relationship(back_populates="filing", order_by="FilingEvent.id")
    superseded_by: Mapped[Filing | None] = relationship(remote_side=[id])

    @property
    def clock_start(self) -> date:
        """The day the submission clock runs from: the publication date the enterprise recorded."""
        version = self.version
        return version.signed_on or to_local(version.published_at).date()

    @property
    def decide_from(self) -> date | None:
        """The day the bureau's 5-day clock runs from: the last (re)submission."""
        return to_local(self.submitted_at).date() if self.submitted_at else None

    @property
    def filed(self) -> bool:
        return self.status in FILED

    @property
    def filed_on(self) -> date | None:
        return to_local(self.decided_at).date() if self.filed and self.decided_at else None


class FilingEvent(db.Model):
    """What happened to a filing and when: the history both sides see."""

    __tablename__ = "filing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(sa.ForeignKey("filing.id"), index=True)
    #: opened / submitted / returned / accepted / deemed_filed / reminded
    action: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    items: Mapped[list] = mapped_column(sa.JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[Filing] = relationship(back_populates="events")

