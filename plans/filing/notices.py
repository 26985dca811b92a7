"""SMS notices of filing to the enterprise's safety manager, once per key (``Campaign.source_key``)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from emergency.core.extensions import db
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging.models import Campaign, Contact
from emergency.organisations.models import Enterprise

from plans.filing.models import Filing, FilingEvent


def bureau_name(filing: Filing) -> str:
    return filing.enterprise.township.jurisdiction.bureau_name


def title(filing: Filing) -> str:
    return f"{filing.version.plan.title} v{filing.version.number}"


def notify(filing: Filing, milestone: str, body: str, *, key: str | None = None) -> bool:
    """SMS to the enterprise's safety manager, once per filing and milestone (or per ``key``)."""
    key = key or f"filing-{filing.id}-{milestone}"
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.source_key == key)) is not None:
        return False
    enterprise: Enterprise = filing.enterprise
    contact_id = db.session.scalar(sa.select(Contact.id).where(
        Contact.enterprise_id == enterprise.id, Contact.register_role == "safety_manager"))
    audience = {"contact_ids": [contact_id]} if contact_id else {"phones": [enterprise.safety_manager_mobile]}
    campaign_ops.create_campaign(None, {
        "kind": "notice", "title": _("Filing: %(title)s", title=title(filing)), "body": body, "priority": "normal",
        "ack_requested": False, **audience}, enterprise_id=enterprise.id, source_key=key)
    if milestone.startswith(("submit-", "overdue")):
        db.session.add(FilingEvent(filing=filing, action="reminded", note=body))
    return True
