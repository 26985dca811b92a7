"""SMS replies: acknowledgements, opt-out and opt-in. Every reply is stored."""
from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.core.timeutil import utcnow
from emergency.core.validation import ValidationError, parse_mobile
from emergency.messaging import contacts
from emergency.messaging.models import Campaign, Delivery, DeliveryStatus, InboundMessage

logger = logging.getLogger(__name__)

ACK_WORDS = {"1", "收到", "确认", "OK", "YES"}
STOP_WORDS = {"STOP", "退订", "TD", "T", "UNSUBSCRIBE", "取消"}
START_WORDS = {"START", "订阅", "UNSTOP"}
_PUNCTUATION = re.compile(r"[\s。.!！,，]+")


def meaning_of(body: str) -> str:
    word = _PUNCTUATION.sub("", body or "").upper()
    if word in ACK_WORDS:
        return "ack"
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return "other"


def receive(provider_sid: str | None, from_phone: str, to_phone: str, body: str) -> InboundMessage:
    """Store a reply and act on it; a repeated webhook (same SID) changes nothing."""
    if provider_sid:
        existing = db.session.scalar(sa.select(InboundMessage).where(InboundMessage.provider_sid == provider_sid))
        if existing is not None:
            return existing
    try:
        phone = parse_mobile(from_phone)
    except ValidationError:
        phone = from_phone
    meaning = meaning_of(body)
    message = InboundMessage(provider_sid=provider_sid, from_phone=phone, to_phone=to_phone or "",
                             body=body or "", meaning=meaning, received_at=utcnow())
    db.session.add(message)
    if meaning == "ack":
        delivery = db.session.scalar(
            sa.select(Delivery).join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.phone == phone, Campaign.ack_requested.is_(True), Delivery.acknowledged_at.is_(None),
                   Delivery.status.in_([DeliveryStatus.sent, DeliveryStatus.delivered]))
            .order_by(Delivery.sent_at.desc(), Delivery.id.desc()).limit(1))
        if delivery is not None:
            delivery.acknowledged_at = utcnow()
            message.delivery = delivery
    elif meaning == "stop":
        contacts.opt_out(None, phone, "sms", f"reply: {body[:50]}")
    elif meaning == "start":
        contacts.opt_in(None, phone, "sms")
    db.session.flush()
    logger.info("inbound SMS from %s: %s", phone, meaning)
    return message
