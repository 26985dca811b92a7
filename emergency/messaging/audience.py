"""Who a campaign reaches: groups (static or saved filters), contacts and loose numbers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Enterprise
from emergency.core.validation import ValidationError, parse_mobile
from emergency.messaging.models import ROLE_KINDS, Contact, ContactGroup, OrgKind, group_member


@dataclass(frozen=True)
class Recipient:
    phone: str
    contact_id: int | None
    #: False when the number could not be read as a mobile number.
    valid: bool = True


def filter_select(criteria: dict[str, Any], enterprise_id: int | None = None) -> sa.Select:
    """Active contacts matching a saved filter (and belonging to ``enterprise_id`` if given)."""
    query = sa.select(Contact.id, Contact.mobile).outerjoin(Enterprise, Contact.enterprise_id == Enterprise.id)
    query = query.where(Contact.active.is_(True))
    if enterprise_id is not None:
        query = query.where(Contact.enterprise_id == enterprise_id)
    if criteria.get("township_ids"):
        query = query.where(Contact.township_id.in_(criteria["township_ids"]))
    if criteria.get("industries"):
        query = query.where(Enterprise.industry.in_(criteria["industries"]))
    if criteria.get("high_risk") is True:
        query = query.where(Enterprise.industry.in_(industries.HIGH_RISK_CODES))
    if criteria.get("org_kinds"):
        query = query.where(Contact.org_kind.in_(criteria["org_kinds"]), _kind_owned())
    if criteria.get("roles"):
        query = query.where(sa.or_(*[has_role(role) for role in criteria["roles"]]))
    return query


def _kind_owned() -> sa.ColumnElement[bool]:
    """A contact counts as the bureau's or a township's only when the bureau owns it (no enterprise)."""
    return sa.or_(Contact.org_kind == OrgKind.enterprise, Contact.enterprise_id.is_(None))


def has_role(role: str) -> sa.ColumnElement[bool]:
    """Contacts carrying ``role`` on a contact of a kind the role belongs to (``ROLE_KINDS``):
    a bureau role tag on an enterprise's contact (written before the rule, or directly) is ignored."""
    kinds = ROLE_KINDS.get(role, frozenset(OrgKind))
    return sa.and_(Contact.roles_text.contains(f",{role},"), Contact.org_kind.in_(list(kinds)), _kind_owned())


def normalise_phones(raw_phones: list[str]) -> tuple[list[str], list[str]]:
    """Typed-in numbers as (valid E.164, unreadable as typed)."""
    valid: list[str] = []
    invalid: list[str] = []
    for raw in raw_phones:
        try:
            valid.append(parse_mobile(raw))
        except ValidationError:
            invalid.append(raw)
    return valid, invalid


def expand(audience: dict[str, Any], enterprise_id: int | None = None) -> list[Recipient]:
    """Every recipient once per phone number, in a stable order."""
    seen: dict[str, Recipient] = {}

    def add(phone: str, contact_id: int | None) -> None:
        if phone not in seen:
            seen[phone] = Recipient(phone, contact_id)

    for group_id in audience.get("group_ids") or []:
        group = db.session.get(ContactGroup, group_id)
        if group is None:
            continue
        if group.kind == "filter":
            rows = db.session.execute(filter_select(group.criteria or {}, enterprise_id).order_by(Contact.id))
        else:
            rows = db.session.execute(
                sa.select(Contact.id, Contact.mobile).join(group_member, group_member.c.contact_id == Contact.id)
                .where(group_member.c.group_id == group_id, Contact.active.is_(True)).order_by(Contact.id))
        for contact_id, mobile in rows:
            add(mobile, contact_id)
    contact_ids = audience.get("contact_ids") or []
    if contact_ids:
        for contact_id, mobile in db.session.execute(
                sa.select(Contact.id, Contact.mobile).where(Contact.id.in_(contact_ids)).order_by(Contact.id)):
            add(mobile, contact_id)
    for raw in audience.get("phones") or []:
        add(raw, None)  # checked and normalised to E.164 when the campaign was created
    for raw in audience.get("invalid_phones") or []:
        seen.setdefault(raw, Recipient(raw, None, valid=False))
    return list(seen.values())
