"""Scoped lists of contacts, groups, campaigns and deliveries."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from emergency.core.access import scope_to_user
from emergency.auth.models import User
from emergency.core.search import matches
from emergency.messaging.models import (
    Campaign, Contact, ContactGroup, Delivery, DeliveryStatus, OptOut,
)


def contact_select(user: User, params: dict[str, Any]) -> sa.Select:
    query = scope_to_user(sa.select(Contact), user, Contact.enterprise_id)
    q = (params.get("q") or "").strip()
    if q:
        query = query.where(matches(q, Contact.name, Contact.mobile))
    if params.get("township_id"):
        query = query.where(Contact.township_id == params["township_id"])
    if params.get("enterprise_id"):
        query = query.where(Contact.enterprise_id == params["enterprise_id"])
    if params.get("role"):
        query = query.where(Contact.roles_text.contains(f",{params['role']},"))
    if params.get("opted_out") is True:
        query = query.where(Contact.mobile.in_(sa.select(OptOut.mobile)))
    return query.order_by(Contact.name, Contact.id)


def group_select(user: User) -> sa.Select:
    return scope_to_user(sa.select(ContactGroup), user, ContactGroup.enterprise_id).order_by(ContactGroup.name)


def campaign_select(user: User, params: dict[str, Any] | None = None) -> sa.Select:
    params = params or {}
    query = scope_to_user(sa.select(Campaign), user, Campaign.enterprise_id)
    if params.get("status"):
        query = query.where(Campaign.status == params["status"])
    if params.get("kind"):
        query = query.where(Campaign.kind == params["kind"])
    return query.order_by(Campaign.id.desc())


NOT_DELIVERED = [DeliveryStatus.undelivered, DeliveryStatus.failed, DeliveryStatus.opted_out,
                 DeliveryStatus.invalid, DeliveryStatus.pending, DeliveryStatus.queued, DeliveryStatus.sending]


def delivery_select(campaign: Campaign, params: dict[str, Any]) -> sa.Select:
    query = sa.select(Delivery).where(Delivery.campaign_id == campaign.id)
    if params.get("status"):
        query = query.where(Delivery.status == params["status"])
    if params.get("problems"):
        condition = Delivery.status.in_(NOT_DELIVERED)
        if campaign.ack_requested:
            condition = sa.or_(condition, Delivery.acknowledged_at.is_(None))
        query = query.where(condition)
    return query.order_by(Delivery.id)
