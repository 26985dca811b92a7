"""Changes to the county register. Each flushes, writes an audit entry; the caller commits."""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.auth.models import Role, User
from emergency.core import signals
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise, Jurisdiction, Township
from emergency.organisations.schemas import ENTERPRISE_SELF_SERVICE_FIELDS, check_coordinates_together

logger = logging.getLogger(__name__)

_NOT_AUDITED = frozenset({"updated_at", "created_at"})


def county() -> Jurisdiction:
    """The jurisdiction this installation serves (the first one configured)."""
    jurisdiction = db.session.scalars(sa.select(Jurisdiction).order_by(Jurisdiction.id)).first()
    if jurisdiction is None:
        raise LookupError("no jurisdiction configured: run `flask --app wsgi demo load` or `flask county init`")
    return jurisdiction


def _check_credit_code_free(code: str, exclude_id: int | None = None) -> None:
    query = sa.select(Enterprise.id).where(Enterprise.credit_code == code)
    if exclude_id is not None:
        query = query.where(Enterprise.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ValidationError(
            {"credit_code": [_("Another enterprise already has this credit code.")]}
        )


def create_enterprise(actor: User | None, data: dict[str, Any]) -> Enterprise:
    """Add an enterprise from validated ``EnterpriseInput`` data."""
    _check_credit_code_free(data["credit_code"])
    enterprise = Enterprise(**data)
    db.session.add(enterprise)
    db.session.flush()
    audit.record(
        actor, "create", "enterprise", enterprise.id,
        enterprise_id=enterprise.id, summary=enterprise.name,
        changes=audit.snapshot(enterprise, exclude=_NOT_AUDITED),
    )
    signals.enterprise_saved.send(actor, enterprise=enterprise)  # contacts follow the register
    return enterprise


def update_enterprise(actor: User, enterprise: Enterprise, data: dict[str, Any]) -> dict[str, list]:
    """Apply validated (possibly partial) changes; returns the changed fields.

    Enterprise users may change only contact and location fields of their own record.
    """
    if actor.role == Role.enterprise:
        refused = sorted(set(data) - ENTERPRISE_SELF_SERVICE_FIELDS)
        refused = [f for f in refused if data[f] != getattr(enterprise, f)]
        if refused:
            raise ValidationError(
                {f: [_("Only the emergency-management bureau can change this.")] for f in refused}
            )
    if "credit_code" in data and data["credit_code"] != enterprise.credit_code:
        _check_credit_code_free(data["credit_code"], exclude_id=enterprise.id)
    check_coordinates_together(data.get("latitude", enterprise.latitude), data.get("longitude", enterprise.longitude))
    for key, value in data.items():
        setattr(enterprise, key, value)
    changes = audit.pending_changes(enterprise, exclude=_NOT_AUDITED)
    if changes:
        audit.record(
            actor, "update", "enterprise", enterprise.id,
            enterprise_id=enterprise.id, summary=enterprise.name, changes=changes,
        )
    db.session.flush()
    if changes:
        signals.enterprise_saved.send(actor, enterprise=enterprise)  # contacts follow the register
    return changes


def set_enterprise_active(actor: User, enterprise: Enterprise, active: bool) -> None:
    """Disable (closed, moved away) or re-enable an enterprise. Nothing is deleted."""
    if enterprise.active == active:
        return
    enterprise.active = active
    audit.record(
        actor, "enable" if active else "disable", "enterprise", enterprise.id,
        enterprise_id=enterprise.id, summary=enterprise.name,
        changes={"active": [not active, active]},
    )
    db.session.flush()
    signals.enterprise_saved.send(actor, enterprise=enterprise)  # contacts follow the register


def create_township(actor: User | None, jurisdiction: Jurisdiction, data: dict[str, Any]) -> Township:
    _check_township_name_free(jurisdiction, data["name"])
    township = Township(jurisdiction=jurisdiction, **data)
    db.session.add(township)
    db.session.flush()
    audit.record(actor, "create", "township", township.id, summary=township.name,
                 changes=audit.snapshot(township, exclude=_NOT_AUDITED))
    return township


def update_township(actor: User, township: Township, data: dict[str, Any]) -> None:
    if data.get("name") and data["name"] != township.name:
        _check_township_name_free(township.jurisdiction, data["name"])
    for key, value in data.items():
        setattr(township, key, value)
    changes = audit.pending_changes(township, exclude=_NOT_AUDITED)
    if changes:
        audit.record(actor, "update", "township", township.id, summary=township.name, changes=changes)
    db.session.flush()


def _check_township_name_free(jurisdiction: Jurisdiction, name: str) -> None:
    exists = db.session.scalar(
        sa.select(Township.id).where(Township.jurisdiction_id == jurisdiction.id, Township.name == name)
    )
    if exists is not None:
        raise ValidationError({"name": [_("A township with this name already exists.")]})


def import_enterprises(actor: User, rows: list[tuple[int, dict[str, Any]]]) -> list[Enterprise]:
    """Create every enterprise of an already validated sheet, with one import entry."""
    created = [create_enterprise(actor, data) for _row, data in rows]
    audit.record(
        actor, "import", "enterprise", None,
        summary=_("%(n)s enterprises imported", n=len(created)),
        changes={"count": len(created), "credit_codes": [e.credit_code for e in created]},
    )
    return created


def enterprise_for(user, data: dict[str, Any]) -> Enterprise:
    """The enterprise an API write is for: an enterprise user's own, else the ``enterprise_id``
    an officer names (a ValidationError naming the field when missing or unknown)."""
    enterprise_id = user.enterprise_id if user.role == Role.enterprise else data.get("enterprise_id")
    if enterprise_id is None:
        raise ValidationError({"enterprise_id": [_("Choose the enterprise.")]})
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise ValidationError({"enterprise_id": [_("No such enterprise.")]})
    return enterprise
