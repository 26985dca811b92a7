"""Messaging: contacts, groups, campaigns (one message to many), deliveries, replies."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emergency.core.extensions import db
from emergency.organisations.models import Enterprise, Township
from emergency.core.timeutil import UTCDateTime, utcnow

#: Role tags a contact can carry; saved-filter groups select by them.
CONTACT_ROLES: dict[str, Any] = {
    "principal": _l("Principal"),
    "safety_manager": _l("Safety manager"),
    "team_leader": _l("Rescue team leader"),
    "township_official": _l("Township official"),
    "bureau_staff": _l("Bureau staff"),
    "staff": _l("Staff"),
    "resident": _l("Resident"),
}


class OrgKind(str, enum.Enum):
    enterprise = "enterprise"
    township = "township"
    bureau = "bureau"


#: Which organisation kinds a role tag belongs to: an enterprise's contacts carry enterprise
#: roles only; the bureau's and townships' roles are set by officers on contacts the bureau
#: owns (no enterprise). Saved filters and the digest select by role within these kinds.
ROLE_KINDS: dict[str, frozenset[OrgKind]] = {
    "principal": frozenset({OrgKind.enterprise}),
    "safety_manager": frozenset({OrgKind.enterprise}),
    "team_leader": frozenset({OrgKind.enterprise}),
    "staff": frozenset({OrgKind.enterprise, OrgKind.township, OrgKind.bureau}),
    "township_official": frozenset({OrgKind.township}),
    "resident": frozenset({OrgKind.township}),
    "bureau_staff": frozenset({OrgKind.bureau}),
}
ENTERPRISE_ROLES = tuple(role for role, kinds in ROLE_KINDS.items() if OrgKind.enterprise in kinds)


ORG_KIND_LABELS = {
    OrgKind.enterprise.value: _l("Enterprise"),
    OrgKind.township.value: _l("Township"),
    OrgKind.bureau.value: _l("Emergency-management bureau"),
}


class Contact(db.Model):
    """A person who can receive SMS."""

    __tablename__ = "contact"
    __table_args__ = (
        # Contacts kept in step with the enterprise register: one per enterprise and role.
        sa.UniqueConstraint("enterprise_id", "register_role", name="uq_contact_register_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    #: Mobile number in E.164.
    mobile: Mapped[str] = mapped_column(sa.String(20), index=True)
    org_kind: Mapped[OrgKind] = mapped_column(sa.Enum(OrgKind, native_enum=False, length=20))
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    #: Role tags as ",principal,safety_manager," so that a LIKE finds one tag on any database.
    roles_text: Mapped[str] = mapped_column(sa.String(200), default=",")
    #: Who to try when this person cannot be reached.
    backup_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"))
    #: Set for contacts maintained from the enterprise register ("principal", "safety_manager").
    register_role: Mapped[str | None] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise | None] = relationship()
    township: Mapped[Township | None] = relationship()
    backup: Mapped[Contact | None] = relationship(remote_side=[id])

    @property
    def roles(self) -> list[str]:
        return [r for r in self.roles_text.split(",") if r]

    @roles.setter
    def roles(self, values: list[str]) -> None:
        self.roles_text = "," + ",".join(sorted(set(values))) + ("," if values else "")


class OptOut(db.Model):
    """A phone number that asked not to receive SMS (STOP/退订/TD, or the provider said so)."""

    __tablename__ = "sms_opt_out"

    mobile: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: sms (a reply), provider (error 21610), officer (set on a page)
    source: Mapped[str] = mapped_column(sa.String(20))
    detail: Mapped[str] = mapped_column(sa.String(200), default="")


group_member = sa.Table(
    "contact_group_member",
    db.metadata,
    sa.Column("group_id", sa.ForeignKey("contact_group.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("contact_id", sa.ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
)


class ContactGroup(db.Model):
    """A static list of contacts, or a saved filter evaluated when a campaign goes out."""

    __tablename__ = "contact_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: static / filter
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: For filter groups: {"township_ids": [...], "industries": [...], "high_risk": bool|None,
    #: "roles": [...], "org_kinds": [...]}.
    criteria: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: NULL for the bureau's groups; an enterprise's own groups carry its id.
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Contact]] = relationship(secondary=group_member, order_by="Contact.name")


class CampaignStatus(str, enum.Enum):
    awaiting_approval = "awaiting_approval"
    scheduled = "scheduled"
    sending = "sending"
    done = "done"
    cancelled = "cancelled"
    #: The fan-out failed for good (``failure_reason`` says why); nothing more is sent.
    failed = "failed"


class Campaign(db.Model):
    """One message to many recipients."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: drill_reminder / warning / notice / filing_reminder ...
    kind: Mapped[str] = mapped_column(sa.String(30), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    #: urgent (goes at once, day or night) / normal (waits out quiet hours)
    priority: Mapped[str] = mapped_column(sa.String(10))
    ack_requested: Mapped[bool] = mapped_column(default=False)
    status: Mapped[CampaignStatus] = mapped_column(
        sa.Enum(CampaignStatus, native_enum=False, length=20), index=True)
    #: Recipients as chosen: {"group_ids": [...], "contact_ids": [...], "phones": [...]}.
    audience: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: When to send; NULL means as soon as released.
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When fan-out started (recipients expanded into deliveries).
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When every recipient had a delivery row; until then the campaign cannot be done, and
    #: the sweep re-runs an interrupted fan-out (it skips recipients already written).
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the campaign failed (status ``failed``), for the officer and the API.
    failure_reason: Mapped[str | None] = mapped_column(sa.String(300))
    #: The enterprise that sends it (its own staff); NULL for the bureau.
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    #: What caused it, e.g. "drill_occurrence:12" — lets callers find their campaign again.
    source_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User", foreign_keys=[author_id])
    approver = relationship("User", foreign_keys=[approver_id])


class DeliveryStatus(str, enum.Enum):
    pending = "pending"
    queued = "queued"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"
    opted_out = "opted_out"
    invalid = "invalid"
    #: Its campaign was cancelled before the message went to the provider.
    cancelled = "cancelled"


FINAL = frozenset({DeliveryStatus.delivered, DeliveryStatus.undelivered, DeliveryStatus.failed,
                   DeliveryStatus.opted_out, DeliveryStatus.invalid, DeliveryStatus.cancelled})
IN_FLIGHT = frozenset({DeliveryStatus.pending, DeliveryStatus.queued, DeliveryStatus.sending})
DELIVERY_STATUS_LABELS = {
    "pending": _l("Pending"), "queued": _l("Queued"), "sending": _l("Sending"), "sent": _l("Sent"),
    "delivered": _l("Delivered"), "undelivered": _l("Undelivered"), "failed": _l("Failed"),
    "opted_out": _l("Opted out"), "invalid": _l("Invalid number"), "cancelled": _l("Cancelled"),
}
#: What the provider's error codes mean, for the duty officer (the raw message is kept too).
ERROR_EXPLANATIONS = {
    "21211": _l("Not a valid phone number"),
    "21614": _l("Not a mobile number"),
    "21610": _l("The recipient has opted out (STOP)"),
    "20429": _l("Too many requests; retried"),
    "30003": _l("Phone unreachable (switched off or out of coverage)"),
    "30005": _l("Unknown number or number no longer in service"),
    "30006": _l("Landline or unreachable carrier"),
    "30007": _l("Blocked by the carrier's filtering"),
    "30008": _l("Unknown error at the carrier"),
}


def explain_error(code: str | None, message: str | None) -> str:
    """The officer's reading of a delivery error: the code's meaning, else the raw message."""
    if code and code in ERROR_EXPLANATIONS:
        return f"{code} {ERROR_EXPLANATIONS[code]}"
    if not code and message == "not a valid mobile number":
        return str(ERROR_EXPLANATIONS["21211"])
    return " ".join(part for part in (code, message) if part)


class Delivery(db.Model):
    """One recipient phone of a campaign, tracked to a final state."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "phone", name="uq_delivery_campaign_phone"),
        sa.Index("ix_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    #: E.164 as sent (or as given, when invalid).
    phone: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[DeliveryStatus] = mapped_column(sa.Enum(DeliveryStatus, native_enum=False, length=20))
    #: console / twilio
    provider: Mapped[str | None] = mapped_column(sa.String(20))
    provider_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(sa.String(20))
    error_message: Mapped[str | None] = mapped_column(sa.String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    #: The claim token of the current attempt: ``nonce@host:pid:start`` while the claiming
    #: process may have its request in flight, the bare nonce once it let go (delivery.py).
    sender: Mapped[str | None] = mapped_column(sa.String(100))
    #: A retry waits until then.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    contact: Mapped[Contact | None] = relationship()


class InboundMessage(db.Model):
    """An SMS reply received from a phone; every one is kept."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    from_phone: Mapped[str] = mapped_column(sa.String(32), index=True)
    to_phone: Mapped[str] = mapped_column(sa.String(32), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    #: ack / stop / start / other
    meaning: Mapped[str] = mapped_column(sa.String(10))
    #: The delivery an acknowledgement was counted for.
    delivery_id: Mapped[int | None] = mapped_column(sa.ForeignKey("delivery.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    delivery: Mapped[Delivery | None] = relationship()


class Setting(db.Model):
    """County settings an admin changes on a page (audited)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
