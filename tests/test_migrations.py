"""The migrations build exactly the schema the models describe, and guard the audit trail."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from emergency.audit import operations as audit
from emergency.audit.models import AppendOnlyError, AuditEntry
from emergency.core.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_audit_entries_cannot_be_changed_through_the_orm(app):
    entry = audit.record(None, "create", "thing", 1, summary="x")
    db.session.commit()
    entry.summary = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()


def test_audit_entries_cannot_be_changed_in_the_database(app):
    audit.record(None, "create", "thing", 1, summary="x")
    db.session.commit()
    for statement in ("UPDATE audit_entry SET summary = 'changed'", "DELETE FROM audit_entry"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert db.session.scalar(sa.select(AuditEntry.summary)) == "x"
