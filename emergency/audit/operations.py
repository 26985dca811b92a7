"""Writing audit entries. Operations call these; the caller commits."""
from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from emergency.core.extensions import db
from emergency.audit.models import AuditEntry

logger = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """Make a column value JSON-friendly and readable in the trail."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def pending_changes(obj: Any, exclude: frozenset[str] = frozenset()) -> dict[str, list[Any]]:
    """The column changes on ``obj`` not yet flushed, as {field: [old, new]}."""
    state = sa.inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in exclude:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            changes[attr.key] = [_plain(old), _plain(new)]
    return changes


def snapshot(obj: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """All column values of ``obj``, for the entry of a create."""
    state = sa.inspect(obj)
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in exclude and attr.key != "id"
    }


def record(
    actor: Any,
    action: str,
    object_type: str,
    object_id: int | None = None,
    *,
    enterprise_id: int | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; ``actor`` is a User or None for the system."""
    entry = AuditEntry(
        user_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", None) or "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        enterprise_id=enterprise_id,
        summary=summary[:300],
        changes=changes or {},
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    logger.debug("audit %s %s %s#%s by %s", action, object_type, summary, object_id, entry.actor)
    return entry
