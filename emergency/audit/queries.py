"""The audit trail query shared by the page and the API."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from emergency.core.access import scope_to_user
from emergency.auth.models import User
from emergency.core.timeutil import SHANGHAI
from emergency.audit.models import AuditEntry


def _day_start_utc(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(timezone.utc)


def audit_select(user: User, params: dict[str, Any]) -> sa.Select:
    query = scope_to_user(sa.select(AuditEntry), user, AuditEntry.enterprise_id)
    for key in ("object_type", "action", "actor", "enterprise_id", "object_id"):
        if params.get(key) not in (None, ""):
            query = query.where(getattr(AuditEntry, key) == params[key])
    if params.get("since"):
        query = query.where(AuditEntry.created_at >= _day_start_utc(params["since"]))
    if params.get("until"):
        query = query.where(AuditEntry.created_at < _day_start_utc(params["until"] + timedelta(days=1)))
    return query.order_by(AuditEntry.id.desc())
