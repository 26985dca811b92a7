"""Drills (演练): cycles, their dated occurrences, drill records (AQ/T 9007-2019), evaluations
(AQ/T 9009), corrective actions (整改), the bureau's spot checks (抽查) and calendar feeds.

Occurrences are stored, not computed per request: a cycle or a statutory obligation yields rows
with a stable ``key`` (so a repeated sweep adds nothing and calendar UIDs never change), and an
occurrence's state follows from its dates, its fulfilling drill and its excuse (``status_sql``).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emergency.core.extensions import db
from emergency.core.files import StoredFileMixin
from emergency.messaging.models import Contact
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import UTCDateTime, utcnow
from plans.plan.models import Plan, PlanVersion

# --- vocabularies (AQ/T 9007-2019) ----------------------------------------------------------------

DRILL_FORMS = {"tabletop": _l("Tabletop drill"), "field": _l("Field drill")}
DRILL_CONTENTS = {"single": _l("Single-function drill"), "comprehensive": _l("Comprehensive drill")}
DRILL_PURPOSES = {"inspection": _l("Inspection drill"), "demonstration": _l("Demonstration drill"),
                  "research": _l("Research drill")}
SCOPE_KINDS = {"": _l("Whole enterprise"), "site": _l("Site"), "team": _l("Team"), "shift": _l("Shift")}
CYCLE_PRESETS = {
    "weekly_small": _l("Weekly small drill (每周一小练)"),
    "monthly_large": _l("Monthly large drill (每月一大练)"),
    "quarterly_check": _l("Quarterly verification (每季度一检验)"),
    "custom": _l("Custom recurrence"),
}
FREQUENCIES = {"weekly": _l("Weekly"), "monthly": _l("Monthly"), "quarterly": _l("Quarterly"),
               "yearly": _l("Yearly")}
#: Statutory obligations that yield occurrences (codes of emergency.organisations.obligations).
OBLIGATION_LABELS = {
    "drill_yearly": _l("Yearly drill of the comprehensive or a special plan"),
    "drill_onsite_half_yearly": _l("Half-yearly drill of an on-site plan"),
    "drill_half_yearly_report": _l("Half-yearly drill reported to the bureau"),
}
OCCURRENCE_STATUS_LABELS = {
    "upcoming": _l("Upcoming"), "due": _l("Due"), "done": _l("Done"), "overdue": _l("Overdue"),
    "excused": _l("Excused"),
}
RATINGS = {"good": _l("Good"), "adequate": _l("Adequate"), "poor": _l("Poor")}
ACTION_STATUS_LABELS = {"open": _l("Open"), "done": _l("Done"), "verified": _l("Verified")}
SPOT_CHECK_RESULTS = {"satisfactory": _l("Satisfactory"), "short": _l("Falls short")}
SPOT_CHECK_STATUS_LABELS = {"closed": _l("Closed"), "correction_ordered": _l("Correction ordered"),
                            "answered": _l("Answered")}


class ActionStatus(str, enum.Enum):
    open = "open"
    done = "done"
    verified = "verified"


drill_plan_version = sa.Table(
    "drill_plan_version",
    db.metadata,
    sa.Column("drill_id", sa.ForeignKey("drill.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version_id", sa.ForeignKey("plan_version.id"), primary_key=True, index=True),
)

drill_cycle_plan = sa.Table(
    "drill_cycle_plan",
    db.metadata,
    sa.Column("cycle_id", sa.ForeignKey("drill_cycle.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("plan_id", sa.ForeignKey("plan.id"), primary_key=True),
)

drill_cycle_contact = sa.Table(
    "drill_cycle_contact",
    db.metadata,
    sa.Column("cycle_id", sa.ForeignKey("drill_cycle.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("contact_id", sa.ForeignKey("contact.id"), primary_key=True),
)


class DrillCycle(db.Model):
    """A recurring drill of an enterprise (optionally of one site, team or shift)."""

    __tablename__ = "drill_cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: CYCLE_PRESETS code.
    preset: Mapped[str] = mapped_column(sa.String(20), default="custom")
    #: "" (whole enterprise), site, team or shift, and its name (e.g. 二号罐区, 甲班).
    scope_kind: Mapped[str] = mapped_column(sa.String(10), default="")
    scope_name: Mapped[str] = mapped_column(sa.String(100), default="")
    #: The recurrence (see plans.drills.recurrence.Rule): {"freq": "weekly", "weekdays": [0], ...}.
    rule: Mapped[dict] = mapped_column(sa.JSON)
    #: Local (Asia/Shanghai) start time and planned duration.
    start_time: Mapped[str] = mapped_column(sa.String(5), default="09:00")
    duration_minutes: Mapped[int] = mapped_column(default=60)
    #: Days after the planned date during which the drill still counts as on time.
    grace_days: Mapped[int] = mapped_column(default=0)
    #: Days before the planned date that the first reminder goes out.
    lead_days: Mapped[int] = mapped_column(default=1)
    #: Default drill form for records of this cycle (DRILL_FORMS).
    drill_form: Mapped[str] = mapped_column(sa.String(10), default="tabletop")
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    #: 遇节假日顺延: an occurrence that falls on a day off moves to the next working day. True for
    #: new cycles; NULL for cycles made before the setting existed (they keep not moving, and
    #: their form offers it ticked when they are next edited).
    shift_holidays: Mapped[bool | None] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    plans: Mapped[list[Plan]] = relationship(secondary=drill_cycle_plan, order_by="Plan.id")
    contacts: Mapped[list[Contact]] = relationship(secondary=drill_cycle_contact, order_by="Contact.name")

    @property
    def preset_label(self) -> str:
        return str(CYCLE_PRESETS.get(self.preset, self.preset))

    @property
    def scope_label(self) -> str:
        if not self.scope_kind:
            return str(SCOPE_KINDS[""])
        return f"{SCOPE_KINDS.get(self.scope_kind, self.scope_kind)}：{self.scope_name}"

    def __str__(self) -> str:
        return self.name


class Occurrence(db.Model):
    """One dated drill that a cycle or a statutory obligation asks for, with its window."""

    __tablename__ = "drill_occurrence"
    __table_args__ = (
        sa.Index("ix_drill_occurrence_enterprise_due", "enterprise_id", "due_on"),
        sa.Index("ix_drill_occurrence_window_end", "window_end"),
        # A calendar day's occurrences in the order a day cell shows them (the calendar reads only
        # the first few of each day from it).
        sa.Index("ix_drill_occurrence_day", "due_on", "scheduled_at", "enterprise_id", "id"),
        # The compliance dashboard (plans.drills.compliance): rates read only this index,
        # enterprise by enterprise; the overdue list walks the open ones in window order.
        sa.Index("ix_drill_occurrence_enterprise_window", "enterprise_id", "window_end", "drill_id", "excused_at",
                 "window_start"),
        # (Not a partial index: SQLite's planner would rather take ix_drill_occurrence_drill_id
        # for "drill_id IS NULL"; with both equalities leading, this one wins on both databases.)
        sa.Index("ix_drill_occurrence_open_window_end", "drill_id", "excused_at", "window_end", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identity: "c<cycle>-<date>" or "o-<obligation>-<subject>-<period>"; the ICS UID.
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"))
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drill_cycle.id"), index=True)
    #: OBLIGATION_LABELS code for statutory occurrences.
    obligation: Mapped[str | None] = mapped_column(sa.String(40))
    #: The on-site plan an on-site obligation is about.
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan.id"))
    #: Planned start (cycles); NULL for obligations, which have only a window.
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    #: The planned day (cycles) or the last day of the period (obligations).
    due_on: Mapped[date] = mapped_column(sa.Date)
    window_start: Mapped[date] = mapped_column(sa.Date)
    window_end: Mapped[date] = mapped_column(sa.Date)
    #: The date the cycle's rule gives, when the occurrence was moved off a day off (顺延).
    moved_from: Mapped[date | None] = mapped_column(sa.Date)
    #: The year whose holidays are not confirmed yet when ``due_on`` was computed across it
    #: (the date is provisional, 暂定, and is recomputed when the year is confirmed).
    provisional_year: Mapped[int | None] = mapped_column()
    #: The drill record that fulfils it.
    drill_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drill.id"), index=True)
    excused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    excused_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    excuse_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    cycle: Mapped[DrillCycle | None] = relationship()
    plan: Mapped[Plan | None] = relationship()
    drill: Mapped[Drill | None] = relationship(back_populates="occurrences")
    excused_by = relationship("User")

    @property
    def title(self) -> str:
        if self.cycle is not None:
            return self.cycle.name
        label = str(OBLIGATION_LABELS.get(self.obligation or "", self.obligation))
        return f"{label}：{self.plan.title}" if self.plan is not None else label

    def status_on(self, today: date) -> str:
        if self.drill_id is not None:
            return "done"
        if self.excused_at is not None:
            return "excused"
        if today > self.window_end:
            return "overdue"
        if today >= self.window_start:
            return "due"
        return "upcoming"


def status_sql(today: date):
    """Occurrence.status_on(today) as a SQL expression (for filters, counts and GROUP BY)."""
    return sa.case(
        (Occurrence.drill_id.is_not(None), "done"),
        (Occurrence.excused_at.is_not(None), "excused"),
        (Occurrence.window_end < today, "overdue"),
        (Occurrence.window_start <= today, "due"),
        else_="upcoming",
    )


class Drill(db.Model):
    """A drill record after AQ/T 9007-2019; corrections are audited, records are never deleted."""

    __tablename__ = "drill"
    __table_args__ = (sa.Index("ix_drill_enterprise_started", "enterprise_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"))
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drill_cycle.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column()
    #: DRILL_FORMS / DRILL_CONTENTS / DRILL_PURPOSES codes.
    form: Mapped[str] = mapped_column(sa.String(10))
    content: Mapped[str] = mapped_column(sa.String(15))
    purpose: Mapped[str] = mapped_column(sa.String(15))
    scenario: Mapped[str] = mapped_column(sa.Text, default="")
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    organiser: Mapped[str] = mapped_column(sa.String(100), default="")
    participant_count: Mapped[int] = mapped_column(default=0)
    #: Named people or teams taking part.
    participants: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Observers (观摩人员), e.g. officers of the bureau.
    observers: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Set when the drill is reported to the bureau (high-risk and crowded places: article 33).
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    cycle: Mapped[DrillCycle | None] = relationship()
    versions: Mapped[list[PlanVersion]] = relationship(secondary=drill_plan_version, order_by="PlanVersion.id")
    occurrences: Mapped[list[Occurrence]] = relationship(back_populates="drill", order_by="Occurrence.due_on")
    files: Mapped[list[DrillFile]] = relationship(back_populates="drill", order_by="DrillFile.id")
    evaluation: Mapped[DrillEvaluation | None] = relationship(back_populates="drill", uselist=False)
    spot_checks: Mapped[list[SpotCheck]] = relationship(back_populates="drill", order_by="SpotCheck.id")

    @property
    def form_label(self) -> str:
        return str(DRILL_FORMS.get(self.form, self.form))

    @property
    def content_label(self) -> str:
        return str(DRILL_CONTENTS.get(self.content, self.content))

    @property
    def purpose_label(self) -> str:
        return str(DRILL_PURPOSES.get(self.purpose, self.purpose))


class DrillFile(StoredFileMixin, db.Model):
    """A photo or document of a drill, stored once by content hash (emergency.core.files)."""

    __tablename__ = "drill_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    drill_id: Mapped[int] = mapped_column(sa.ForeignKey("drill.id"), index=True)
    #: photo / document
    kind: Mapped[str] = mapped_column(sa.String(20))

    drill: Mapped[Drill] = relationship(back_populates="files")


class DrillEvaluation(db.Model):
    """The evaluation of a drill (评估, after AQ/T 9009): objectives rated, revision needs."""

    __tablename__ = "drill_evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(sa.ForeignKey("drill.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    evaluated_on: Mapped[date] = mapped_column(sa.Date)
    evaluator: Mapped[str] = mapped_column(sa.String(100), default="")
    #: [{"objective": "...", "rating": "good|adequate|poor", "note": "..."}]
    objectives: Mapped[list] = mapped_column(sa.JSON, default=list)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    plan_revision_needed: Mapped[bool] = mapped_column(default=False)
    #: Which sections need revision: [{"plan_id": 1, "section": "应急响应"}] or free titles.
    revision_sections: Mapped[list] = mapped_column(sa.JSON, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    drill: Mapped[Drill] = relationship(back_populates="evaluation")
    actions: Mapped[list[CorrectiveAction]] = relationship(back_populates="evaluation",
                                                           order_by="CorrectiveAction.id")


class CorrectiveAction(db.Model):
    """A problem found in a drill and its fix (整改): open → done → verified."""

    __tablename__ = "corrective_action"
    __table_args__ = (sa.Index("ix_corrective_action_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    drill_id: Mapped[int] = mapped_column(sa.ForeignKey("drill.id"), index=True)
    evaluation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drill_evaluation.id"))
    #: A spot check's ordered correction also lands here.
    spot_check_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drill_spot_check.id"))
    problem: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.Text, default="")
    owner_name: Mapped[str] = mapped_column(sa.String(50))
    owner_mobile: Mapped[str | None] = mapped_column(sa.String(20))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(sa.Enum(ActionStatus, native_enum=False, length=10),
                                                 default=ActionStatus.open)
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    evidence_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drill_file.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: The plan version (draft) a revision started from this problem.
    revision_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan_version.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    drill: Mapped[Drill] = relationship()
    evaluation: Mapped[DrillEvaluation | None] = relationship(back_populates="actions")
    evidence_file: Mapped[DrillFile | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(ACTION_STATUS_LABELS[self.status.value])

    def overdue_on(self, today: date) -> bool:
        return self.status == ActionStatus.open and today > self.due_on


class SpotCheck(db.Model):
    """The bureau's spot check (抽查) of a reported drill; a shortfall orders a correction."""

    __tablename__ = "drill_spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(sa.ForeignKey("drill.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    checked_on: Mapped[date] = mapped_column(sa.Date)
    #: SPOT_CHECK_RESULTS code.
    result: Mapped[str] = mapped_column(sa.String(20))
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    #: When the drill falls short: what must be corrected and by when.
    correction_required: Mapped[str] = mapped_column(sa.Text, default="")
    correction_due: Mapped[date | None] = mapped_column(sa.Date)
    #: The enterprise's answer.
    response: Mapped[str] = mapped_column(sa.Text, default="")
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: SPOT_CHECK_STATUS_LABELS code.
    status: Mapped[str] = mapped_column(sa.String(20), default="closed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    drill: Mapped[Drill] = relationship(back_populates="spot_checks")


class PublicationOverride(db.Model):
    """An officer let a new plan's first version be published without a drill, and why."""

    __tablename__ = "drill_gate_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_version.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(500))
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(db.Model):
    """A revocable ICS subscription: an enterprise's or (enterprise_id NULL) the county's.

    Only the SHA-256 of the token is kept; the URL is shown once when the feed is created.
    """

    __tablename__ = "drill_calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enterprise: Mapped[Enterprise | None] = relationship()
