"""Contacts and opt-outs; contacts of principals and safety managers follow the register."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import utcnow
from emergency.messaging.models import CONTACT_ROLES, ROLE_KINDS, Contact, OptOut, OrgKind

_NOT_AUDITED = frozenset({"created_at", "updated_at"})
REGISTER_ROLES = {
    "principal": ("principal_name", "principal_mobile"),
    "safety_manager": ("safety_manager_name", "safety_manager_mobile"),
}


def kind_errors(actor, org_kind: OrgKind | None, enterprise_id: int | None, roles: list[str]) -> dict[str, list[str]]:
    """What is wrong with a contact's organisation kind and role tags, by field.

    Role tags belong to the organisation kind; an enterprise's contacts carry enterprise roles
    only, and only officers set the bureau's and townships' kinds and roles — on contacts the
    bureau owns (no enterprise). The digest and officers' groups rely on this.
    """
    errors: dict[str, list[str]] = {}
    by_enterprise_user = getattr(actor, "role", None) == Role.enterprise
    if by_enterprise_user and org_kind != OrgKind.enterprise:
        errors["org_kind"] = [_("An enterprise user keeps its own enterprise's contacts only: the organisation "
                                "type must be enterprise.")]
    elif org_kind in (OrgKind.bureau, OrgKind.township) and enterprise_id is not None:
        errors["enterprise_id"] = [_("A contact of the bureau or of a township belongs to no enterprise: "
                                     "leave the enterprise empty.")]
    kind = OrgKind.enterprise if by_enterprise_user else org_kind
    wrong = [role for role in roles if role in ROLE_KINDS and kind not in ROLE_KINDS[role]]
    if wrong:
        errors["roles"] = [_("Not a role of this organisation type: %(roles)s.",
                             roles="、".join(str(CONTACT_ROLES[r]) for r in wrong))]
    return errors


def _apply(contact: Contact, data: dict[str, Any], actor=None) -> None:
    for key, value in data.items():
        if key == "roles":
            contact.roles = value
        else:
            setattr(contact, key, value)
    if contact.org_kind == OrgKind.enterprise and contact.enterprise_id is None:
        raise ValidationError({"enterprise_id": [_("Choose the enterprise.")]})
    if contact.enterprise_id is not None:
        enterprise = db.session.get(Enterprise, contact.enterprise_id)
        contact.township_id = enterprise.township_id if enterprise else contact.township_id
    if contact.backup_contact_id is not None:
        backup = db.session.get(Contact, contact.backup_contact_id)
        if backup is None or (contact.id is not None and backup.id == contact.id):
            raise ValidationError({"backup_contact_id": [_("Choose another existing contact as the backup.")]})
        if contact.enterprise_id is not None and backup.enterprise_id != contact.enterprise_id:
            # An enterprise's escalation stays inside the enterprise (and never reveals another's people).
            raise ValidationError({"backup_contact_id": [_("The backup of an enterprise's contact must be a contact "
                                                           "of the same enterprise.")]})
    errors = kind_errors(actor, contact.org_kind, contact.enterprise_id, contact.roles)
    if errors:
        raise ValidationError(errors)


def create_contact(actor, data: dict[str, Any]) -> Contact:
    contact = Contact(roles_text=",")
    _apply(contact, data, actor)
    db.session.add(contact)
    db.session.flush()
    audit.record(actor, "create", "contact", contact.id, enterprise_id=contact.enterprise_id,
                 summary=contact.name, changes=audit.snapshot(contact, exclude=_NOT_AUDITED))
    return contact


def update_contact(actor, contact: Contact, data: dict[str, Any]) -> dict:
    if contact.register_role and ({"name", "mobile", "enterprise_id"} & set(data)):
        changed = [k for k in ("name", "mobile", "enterprise_id") if k in data and data[k] != getattr(contact, k)]
        if changed:
            raise ValidationError({k: [_("This contact follows the enterprise register: change it there.")]
                                   for k in changed})
    _apply(contact, data, actor)
    changes = audit.pending_changes(contact, exclude=_NOT_AUDITED)
    if changes:
        audit.record(actor, "update", "contact", contact.id, enterprise_id=contact.enterprise_id,
                     summary=contact.name, changes=changes)
    db.session.flush()
    return changes


def sync_enterprise_contacts(actor, enterprise: Enterprise) -> None:
    """Keep the principal's and safety manager's contacts equal to the register."""
    for role, (name_field, mobile_field) in REGISTER_ROLES.items():
        contact = db.session.scalar(sa.select(Contact).where(
            Contact.enterprise_id == enterprise.id, Contact.register_role == role))
        name, mobile = getattr(enterprise, name_field), getattr(enterprise, mobile_field)
        if contact is None:
            contact = Contact(name=name, mobile=mobile, org_kind=OrgKind.enterprise, enterprise_id=enterprise.id,
                              township_id=enterprise.township_id, register_role=role, roles_text=f",{role},")
            db.session.add(contact)
            db.session.flush()
            audit.record(actor, "create", "contact", contact.id, enterprise_id=enterprise.id, summary=name,
                         changes={"source": "register", "role": role, "mobile": mobile})
            continue
        contact.name, contact.mobile = name, mobile
        contact.township_id = enterprise.township_id
        contact.active = enterprise.active
        changes = audit.pending_changes(contact, exclude=_NOT_AUDITED)
        if changes:
            audit.record(actor, "update", "contact", contact.id, enterprise_id=enterprise.id, summary=name,
                         changes={**changes, "source": "register"})
    db.session.flush()


def opted_out(mobiles: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(mobiles), 500):
        chunk = mobiles[start:start + 500]
        found.update(db.session.scalars(sa.select(OptOut.mobile).where(OptOut.mobile.in_(chunk))))
    return found


def opt_out(actor, mobile: str, source: str, detail: str = "") -> bool:
    """Record that ``mobile`` receives no more SMS; False if it already had opted out."""
    if db.session.get(OptOut, mobile) is not None:
        return False
    db.session.add(OptOut(mobile=mobile, source=source, detail=detail[:200], opted_out_at=utcnow()))
    audit.record(actor, "opt_out", "phone", None, summary=mobile, changes={"source": source, "detail": detail})
    db.session.flush()
    return True


def opt_in(actor, mobile: str, source: str) -> bool:
    row = db.session.get(OptOut, mobile)
    if row is None:
        return False
    db.session.delete(row)
    audit.record(actor, "opt_in", "phone", None, summary=mobile, changes={"source": source})
    db.session.flush()
    return True
