"""The append-only audit trail (痕迹化管理)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from emergency.core.extensions import db
from emergency.core.timeutil import UTCDateTime, utcnow


class AuditEntry(db.Model):
    """Who did what to which record, and which fields changed from what to what.

    Rows are only ever inserted: the ORM refuses updates and deletes, and database
    triggers (see the migration) refuse them too.
    """

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: The acting user; NULL for the system (scheduler, CLI, demo loader).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: The actor's username when the entry was written (kept if the user is renamed).
    actor: Mapped[str] = mapped_column(sa.String(64))
    #: create / update / disable / enable / import / login / password / token ...
    action: Mapped[str] = mapped_column(sa.String(30), index=True)
    #: Table-like name of the record, e.g. ``enterprise``.
    object_type: Mapped[str] = mapped_column(sa.String(40), index=True)
    object_id: Mapped[int | None] = mapped_column(index=True)
    #: The enterprise the record belongs to, so enterprise users see their own entries.
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    #: Human-readable one-liner, e.g. the enterprise name.
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    #: {field: [old, new]} for updates; {field: value} snapshot for creates.
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: Client address of the request, when there was one.
    remote_addr: Mapped[str | None] = mapped_column(sa.String(45))


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target):  # noqa: ARG001
    raise AppendOnlyError("audit entries are append-only")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target):  # noqa: ARG001
    raise AppendOnlyError("audit entries are append-only")
