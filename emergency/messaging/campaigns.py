"""Campaign life: create, approve, schedule, release, cancel, resend to failed.

Releasing a campaign only enqueues its fan-out; the worker does the sending.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.messaging import audience, contacts
from emergency.messaging.sms import count_parts
from emergency.core.queue import enqueue_after_commit
from emergency.core.timeutil import utcnow
from emergency.messaging import settings
from emergency.messaging.audience import normalise_phones
from emergency.messaging.models import (
    FINAL,
    Campaign,
    CampaignStatus,
    Contact,
    ContactGroup,
    Delivery,
    DeliveryStatus,
)
from emergency.messaging.providers import ConsoleProvider

logger = logging.getLogger(__name__)

#: Provider errors worth another try on "resend to failed" (unreachable, unknown, carrier issues).
RESENDABLE_ERRORS = {None, "", "30001", "30003", "30005", "30008", "30009", "30010", "20429", "500", "503"}


def _enqueue_fan_out(campaign_id: int) -> None:
    """Enqueue the fan-out once the release is committed (the worker must see it)."""
    enqueue_after_commit("messaging.fan_out", campaign_id)


def planned_send_time(campaign: Campaign, now: datetime | None = None) -> datetime:
    """When the campaign may go: its time, pushed past quiet hours for normal messages."""
    now = now or utcnow()
    moment = max(campaign.send_at or now, now)
    if campaign.priority == "normal":
        later = settings.quiet_until(moment, settings.parse_quiet_hours(settings.get("quiet_hours")))
        if later is not None:
            return later
    return moment


def needs_second_person(campaign: Campaign) -> bool:
    return campaign.priority == "urgent" and bool(settings.get("two_person_approval"))


def create_campaign(actor, data: dict[str, Any], *, enterprise_id: int | None = None,
                    source_key: str | None = None) -> Campaign:
    """Create a campaign; it is released at once unless it waits for approval or its time."""
    if source_key is not None:
        existing = db.session.scalar(sa.select(Campaign).where(Campaign.source_key == source_key))
        if existing is not None:
            return existing
    audience = {k: data.get(k) or [] for k in ("group_ids", "contact_ids")}
    check_references(audience)
    audience["phones"], audience["invalid_phones"] = normalise_phones(data.get("phones") or [])
    if not any(audience.values()):
        raise ValidationError({"group_ids": [_("Choose at least one group, contact or number.")]})
    campaign = Campaign(
        kind=data["kind"], title=data["title"], body=data["body"], priority=data["priority"],
        ack_requested=data.get("ack_requested", False), audience=audience, send_at=data.get("send_at"),
        author_id=getattr(actor, "id", None), enterprise_id=enterprise_id, source_key=source_key,
        status=CampaignStatus.awaiting_approval,
    )
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor, "create", "campaign", campaign.id, enterprise_id=enterprise_id, summary=campaign.title,
                 changes={"kind": campaign.kind, "priority": campaign.priority, "body": campaign.body,
                          "audience": audience, "send_at": campaign.send_at.isoformat() if campaign.send_at else None})
    if not needs_second_person(campaign):
        _approve(actor, campaign, automatic=True)
    return campaign


def check_references(audience: dict[str, Any]) -> None:
    """Every group and contact a campaign names must exist (a field error lists those that do not)."""
    errors: dict[str, list[str]] = {}
    for field, model in (("group_ids", ContactGroup), ("contact_ids", Contact)):
        ids = sorted(set(audience.get(field) or []))
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            found.update(db.session.scalars(sa.select(model.id).where(model.id.in_(ids[start:start + 500]))))
        missing = ", ".join(str(i) for i in ids if i not in found)
        if missing:
            errors[field] = [_("No such group: %(ids)s", ids=missing) if field == "group_ids"
                             else _("No such contact: %(ids)s", ids=missing)]
    if errors:
        raise ValidationError(errors)


def approve(actor, campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.awaiting_approval:
        raise ValidationError({"status": [_("Only a campaign awaiting approval can be approved.")]})
    if needs_second_person(campaign) and campaign.author_id == getattr(actor, "id", None):
        raise ValidationError({"approver": [_("Two-person approval: an officer other than the author must approve.")]})
    _approve(actor, campaign, automatic=False)


def _approve(actor, campaign: Campaign, *, automatic: bool) -> None:
    now = utcnow()
    campaign.approver_id = getattr(actor, "id", None)
    campaign.approved_at = now
    if not automatic:
        audit.record(actor, "approve", "campaign", campaign.id, enterprise_id=campaign.enterprise_id,
                     summary=campaign.title)
    campaign.status = CampaignStatus.scheduled
    db.session.flush()
    if planned_send_time(campaign, now) <= now:
        release(campaign)


def release(campaign: Campaign) -> bool:
    """Move a due campaign to sending; its fan-out is enqueued when the caller commits.

    Conditional on the campaign still being scheduled, so a repeated sweep releases it once.
    """
    now = utcnow()
    result = db.session.execute(
        sa.update(Campaign).where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.scheduled)
        .values(status=CampaignStatus.sending, released_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(campaign)
    _enqueue_fan_out(campaign.id)
    logger.info("campaign %s released", campaign.id)
    return True


def release_due(now: datetime | None = None) -> int:
    """Release every scheduled campaign whose time has come (the scheduler's sweep)."""
    now = now or utcnow()
    count = 0
    for campaign in db.session.scalars(sa.select(Campaign).where(Campaign.status == CampaignStatus.scheduled)):
        if planned_send_time(campaign, now) <= now and release(campaign):
            count += 1
    return count


CANCELLABLE = (CampaignStatus.awaiting_approval, CampaignStatus.scheduled, CampaignStatus.sending)


def cancel(actor, campaign: Campaign) -> None:
    """Stop a campaign that has not finished: nothing more goes to the provider.

    A sending campaign (also one whose fan-out is stuck) can be cancelled: its deliveries not
    yet handed to the provider become ``cancelled``; those already with the provider go on.
    """
    now = utcnow()
    changed = db.session.execute(
        sa.update(Campaign).where(Campaign.id == campaign.id, Campaign.status.in_(CANCELLABLE))
        .values(status=CampaignStatus.cancelled, cancelled_at=now, finished_at=sa.func.coalesce(
            Campaign.finished_at, now)).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        db.session.refresh(campaign)
        raise ValidationError({"status": [_("Only a campaign that has not finished sending can be cancelled.")]})
    stopped = db.session.execute(
        sa.update(Delivery).where(Delivery.campaign_id == campaign.id,
                                  Delivery.status.in_([DeliveryStatus.pending, DeliveryStatus.queued]))
        .values(status=DeliveryStatus.cancelled, failed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(campaign)
    audit.record(actor, "cancel", "campaign", campaign.id, enterprise_id=campaign.enterprise_id,
                 summary=campaign.title, changes={"unsent": stopped} if stopped else None)
    db.session.flush()


def fail(campaign_id: int, reason: str) -> bool:
    """End a campaign whose fan-out failed for good, with the reason (audited). Idempotent."""
    now = utcnow()
    changed = db.session.execute(
        sa.update(Campaign).where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending)
        .values(status=CampaignStatus.failed, failure_reason=reason[:300], finished_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        campaign = db.session.get(Campaign, campaign_id)
        db.session.refresh(campaign)
        audit.record(None, "fail", "campaign", campaign_id, enterprise_id=campaign.enterprise_id,
                     summary=campaign.title, changes={"reason": reason[:300]})
    db.session.commit()
    return bool(changed)


def resendable(campaign: Campaign) -> list[Delivery]:
    return db.session.scalars(sa.select(Delivery).where(
        Delivery.campaign_id == campaign.id,
        Delivery.status.in_([DeliveryStatus.failed, DeliveryStatus.undelivered]),
    ).order_by(Delivery.id)).all()


def resend_failed(actor, campaign: Campaign) -> Campaign:
    """A follow-up campaign to the retryable failures; the original's record stays as it is."""
    retry = [d for d in resendable(campaign) if d.error_code in RESENDABLE_ERRORS]
    if not retry:
        raise ValidationError({"deliveries": [_("No failed deliveries can be retried.")]})
    follow_up = create_campaign(actor, {
        "kind": campaign.kind, "title": _("Resend: %(title)s", title=campaign.title)[:200], "body": campaign.body,
        "priority": campaign.priority, "ack_requested": campaign.ack_requested,
        "contact_ids": [d.contact_id for d in retry if d.contact_id],
        "phones": [d.phone for d in retry if not d.contact_id],
    }, enterprise_id=campaign.enterprise_id)
    audit.record(actor, "resend", "campaign", campaign.id, enterprise_id=campaign.enterprise_id,
                 summary=campaign.title, changes={"follow_up": follow_up.id, "count": len(retry)})
    return follow_up


def counts(campaign_id: int) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Delivery.status, sa.func.count()).where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)).all()
    result = {status.value: 0 for status in DeliveryStatus}
    for status, n in rows:
        result[status.value if hasattr(status, "value") else status] = n
    result["total"] = sum(n for _s, n in rows)
    result["acknowledged"] = db.session.scalar(sa.select(sa.func.count()).where(
        Delivery.campaign_id == campaign_id, Delivery.acknowledged_at.is_not(None))) or 0
    result["final"] = sum(result[s.value] for s in FINAL)
    # Sent but never reported delivered or not: still awaited, or past the status window.
    from emergency.messaging.delivery import awaiting_report  # delivery imports this module

    result["awaiting_report"] = result["no_report"] = 0
    if result["sent"]:
        awaiting, reportable = db.session.execute(sa.select(
            sa.func.count().filter(awaiting_report()), sa.func.count()).where(
            Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.sent,
            Delivery.provider != ConsoleProvider.name)).one()
        result["awaiting_report"], result["no_report"] = awaiting, reportable - awaiting
    return result


def status_detail(campaign: Campaign, numbers: dict[str, int]) -> str | None:
    """What the campaign's status means beyond its name, for the page and the API."""
    if campaign.status == CampaignStatus.failed:
        return _("Failed: %(reason)s", reason=campaign.failure_reason or "")
    if campaign.status == CampaignStatus.done and numbers.get("no_report"):
        return _("Completed (%(n)s without a status report, past the time they are asked for)",
                 n=numbers["no_report"])
    if campaign.status == CampaignStatus.cancelled and numbers.get("cancelled"):
        return _("Cancelled (%(n)s not sent)", n=numbers["cancelled"])
    if campaign.status == CampaignStatus.sending and numbers.get("awaiting_report") and not any(
            numbers.get(s.value) for s in (DeliveryStatus.pending, DeliveryStatus.queued, DeliveryStatus.sending)):
        return _("All handed to the provider; waiting for %(n)s status reports", n=numbers["awaiting_report"])
    return None


def preview(data: dict[str, Any]) -> dict[str, Any]:
    """What a composed campaign would cost: recipients after de-duplication and opt-outs, parts."""

    valid_phones, invalid_phones = audience.normalise_phones(data.get("phones") or [])
    recipients = audience.expand({"group_ids": data.get("group_ids") or [], "contact_ids": data.get("contact_ids") or [],
                                  "phones": valid_phones, "invalid_phones": invalid_phones})
    valid = [r.phone for r in recipients if r.valid]
    opted = contacts.opted_out(valid)
    parts = count_parts(data.get("body") or "")
    sendable = len(valid) - len(opted)
    return {
        "recipients": sendable, "opted_out": len(opted), "invalid": len(recipients) - len(valid),
        "encoding": parts.encoding, "characters": parts.units, "parts": parts.parts,
        "total_parts": sendable * parts.parts,
    }
