"""Plans, their versions and sections, expert reviews, evaluations and attachments."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emergency.core.extensions import db
from emergency.core.files import StoredFileMixin
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import UTCDateTime, utcnow


class PlanKind(str, enum.Enum):
    comprehensive = "comprehensive"  # 综合应急预案
    special = "special"  # 专项应急预案
    onsite = "onsite"  # 现场处置方案


PLAN_KIND_LABELS = {
    "comprehensive": _l("Comprehensive plan"),
    "special": _l("Special plan"),
    "onsite": _l("On-site disposal plan"),
}


class VersionStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    #: A later version was published; this one stays, unchanged, for the record.
    superseded = "superseded"


VERSION_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "superseded": _l("Superseded")}

#: The six statutory revision triggers (article 36 of 生产安全事故应急预案管理办法).
REVISION_TRIGGERS = {
    "law_changed": _l("Laws, regulations, standards or the upper-level plan changed"),
    "command_changed": _l("The command structure or its duties changed significantly"),
    "risk_changed": _l("Major hazards or other important risks changed significantly"),
    "resources_changed": _l("Important emergency resources changed significantly"),
    "found_in_response": _l("A drill or a real response found major problems that need revision"),
    "other": _l("Other circumstances the authority requires"),
}

#: Parts of a plan whose change means it must be filed again (article 37).
KEY_PARTS = {
    "command": _l("Command structure and duties"),
    "procedure": _l("Response procedures"),
    "measures": _l("Main response measures"),
    "levels": _l("Response levels"),
}


class ReviewConclusion(str, enum.Enum):
    passed = "pass"
    pass_after_revision = "pass_after_revision"
    failed = "fail"


REVIEW_CONCLUSION_LABELS = {"pass": _l("Pass"), "pass_after_revision": _l("Pass after revision"),
                            "fail": _l("Fail")}
ATTACHMENT_KINDS = {
    "risk_assessment": _l("Risk assessment result"),
    "resource_survey": _l("Emergency resource survey"),
    "review_minutes": _l("Review minutes"),
    "signed_scan": _l("Signed scan"),
    "other": _l("Other"),
}


class Plan(db.Model):
    """One plan of an enterprise's plan system; its text lives in versions."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    kind: Mapped[PlanKind] = mapped_column(sa.Enum(PlanKind, native_enum=False, length=20))
    title: Mapped[str] = mapped_column(sa.String(200))
    #: Special and on-site plans hang under the comprehensive plan (or an on-site plan under a special one).
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan.id"))
    #: What the plan is for: accident types, a major hazard source or an event (special);
    #: a place, unit or installation (on-site).
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    #: A withdrawn plan leaves the plan system but keeps its versions.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    parent: Mapped[Plan | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Plan]] = relationship(back_populates="parent", order_by="Plan.id")
    versions: Mapped[list[PlanVersion]] = relationship(back_populates="plan", order_by="PlanVersion.number")

    @property
    def kind_label(self) -> str:
        return str(PLAN_KIND_LABELS[self.kind.value])

    @property
    def current(self) -> PlanVersion | None:
        """The version in force: the published one."""
        return next((v for v in self.versions if v.status == VersionStatus.published), None)

    @property
    def draft(self) -> PlanVersion | None:
        return next((v for v in self.versions if v.status == VersionStatus.draft), None)

    @property
    def latest(self) -> PlanVersion | None:
        return self.versions[-1] if self.versions else None


class PlanVersion(db.Model):
    """A version of a plan: a draft is edited; once published it never changes."""

    __tablename__ = "plan_version"
    __table_args__ = (sa.UniqueConstraint("plan_id", "number", name="uq_plan_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id"), index=True)
    number: Mapped[int] = mapped_column()
    status: Mapped[VersionStatus] = mapped_column(sa.Enum(VersionStatus, native_enum=False, length=20),
                                                  default=VersionStatus.draft, index=True)
    #: Why this version was written (code from REVISION_TRIGGERS); empty for the first version.
    revision_trigger: Mapped[str | None] = mapped_column(sa.String(30))
    revision_note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Response levels, most severe first: [{"name": "一级", "criteria": "..."}].
    response_levels: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Accident types the plan covers (火灾, 泄漏, 中毒窒息 …).
    accident_types: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Publication: the principal who signed and the signing date.
    principal_name: Mapped[str | None] = mapped_column(sa.String(50))
    signed_on: Mapped[date | None] = mapped_column(sa.Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: Key parts that changed against the previous published version (KEY_PARTS codes).
    key_changes: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: SHA-256 of the published content: the key of its cached PDF.
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    plan: Mapped[Plan] = relationship(back_populates="versions")
    sections: Mapped[list[PlanSection]] = relationship(back_populates="version", order_by="PlanSection.position",
                                                       cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(back_populates="version", order_by="Review.id")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="version", order_by="Attachment.id")

    @property
    def editable(self) -> bool:
        return self.status == VersionStatus.draft

    @property
    def passing_review(self) -> Review | None:
        return next((r for r in reversed(self.reviews) if r.conclusion != ReviewConclusion.failed), None)

    def attachments_of(self, kind: str) -> list[Attachment]:
        return [a for a in self.attachments if a.kind == kind]


class PlanSection(db.Model):
    """A section of a version's text: a title and sanitised rich text."""

    __tablename__ = "plan_section"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_version.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    #: 1 for a chapter, 2 and 3 for its sub-sections.
    level: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: HTML restricted to headings, paragraphs, lists and tables (see plans.documents.richtext).
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: KEY_PARTS code when the section is one of the parts whose change needs a new filing.
    key_part: Mapped[str | None] = mapped_column(sa.String(20))

    version: Mapped[PlanVersion] = relationship(back_populates="sections")


class Review(db.Model):
    """An expert review (评审) of a version."""

    __tablename__ = "plan_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_version.id"), index=True)
    held_on: Mapped[date] = mapped_column(sa.Date)
    conclusion: Mapped[ReviewConclusion] = mapped_column(sa.Enum(ReviewConclusion, native_enum=False, length=30))
    #: The review opinion (评审意见).
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    #: Experts: [{"name", "organisation", "speciality", "no_conflict": true}].
    experts: Mapped[list] = mapped_column(sa.JSON, default=list)
    minutes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan_attachment.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[PlanVersion] = relationship(back_populates="reviews")
    minutes: Mapped[Attachment | None] = relationship(foreign_keys=[minutes_id])


class Evaluation(db.Model):
    """A periodic evaluation (评估) of a plan."""

    __tablename__ = "plan_evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id"), index=True)
    evaluated_on: Mapped[date] = mapped_column(sa.Date)
    #: no_change / revise
    conclusion: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[Plan] = relationship()


EVALUATION_CONCLUSIONS = {"no_change": _l("No change needed"), "revise": _l("Revise the plan")}


class Attachment(StoredFileMixin, db.Model):
    """A file attached to a plan version, stored once by content hash under instance/."""

    __tablename__ = "plan_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_version.id"), index=True)
    #: ATTACHMENT_KINDS code.
    kind: Mapped[str] = mapped_column(sa.String(30))

    version: Mapped[PlanVersion] = relationship(back_populates="attachments", foreign_keys=[version_id])


#: Import job states: queued → running → done (the preview is ready) → saved; or failed.
IMPORT_JOB_STATUSES = ("queued", "running", "done", "saved", "failed")
IMPORT_JOB_STATUS_LABELS = {"queued": _l("Waiting for the worker"), "running": _l("Reading the document"),
                            "done": _l("Ready to review"), "saved": _l("Saved"), "failed": _l("Failed")}


class ImportJob(db.Model):
    """A Word import of a draft: the uploaded file (stored by hash), its progress and result.

    Small files are read in the request (the job is ``done`` when the upload returns); larger
    ones by the worker, which reports progress here. The sections found wait in ``sections``
    until the user confirms them (``saved``); with ``apply`` (the API's ``confirm=true``) the
    worker saves them itself.
    """

    __tablename__ = "plan_import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_version.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    #: Save the sections as soon as they are read (no review).
    apply: Mapped[bool] = mapped_column(default=False)
    #: 0–100.
    progress: Mapped[int] = mapped_column(default=0)
    #: Paragraphs in the file (counted before it was read).
    paragraphs: Mapped[int] = mapped_column(default=0)
    #: [{"title", "level", "html"}] once read.
    sections: Mapped[list | None] = mapped_column(sa.JSON)
    #: Why it failed, in the words shown to the user.
    error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[PlanVersion] = relationship()

    @property
    def pending(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def saved(self) -> bool:
        return self.status == "saved"

    @property
    def preview(self) -> list[dict]:
        return self.sections or []
