"""Contact groups: static lists and saved filters."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.organisations.models import Township
from emergency.messaging.models import Contact, ContactGroup


def _apply(group: ContactGroup, data: dict[str, Any]) -> None:
    group.name = data["name"]
    group.kind = data["kind"]
    if group.kind == "static":
        ids = sorted(set(data.get("member_ids") or []))
        members = db.session.scalars(sa.select(Contact).where(Contact.id.in_(ids))).all()
        missing = set(ids) - {c.id for c in members}
        if missing:
            raise ValidationError({"member_ids": [_("No such contact: %(ids)s", ids=", ".join(map(str, sorted(missing))))]})
        group.members = list(members)
        group.criteria = {}
    else:
        township_ids = sorted(set((data.get("criteria") or {}).get("township_ids") or []))
        known = set(db.session.scalars(sa.select(Township.id).where(Township.id.in_(township_ids))))
        missing = [i for i in township_ids if i not in known]
        if missing:
            raise ValidationError({"criteria": {"township_ids": [
                _("No such township: %(ids)s", ids=", ".join(map(str, missing)))]}})
        group.members = []
        group.criteria = {k: v for k, v in (data.get("criteria") or {}).items() if v not in (None, [], "")}


def create_group(actor, data: dict[str, Any], enterprise_id: int | None = None) -> ContactGroup:
    group = ContactGroup(enterprise_id=enterprise_id)
    _apply(group, data)
    db.session.add(group)
    db.session.flush()
    audit.record(actor, "create", "contact_group", group.id, enterprise_id=enterprise_id, summary=group.name,
                 changes={"kind": group.kind, "criteria": group.criteria,
                          "members": [c.id for c in group.members]})
    return group


def update_group(actor, group: ContactGroup, data: dict[str, Any]) -> None:
    before = {"name": group.name, "kind": group.kind, "criteria": group.criteria,
              "members": [c.id for c in group.members]}
    _apply(group, data)
    after = {"name": group.name, "kind": group.kind, "criteria": group.criteria,
             "members": [c.id for c in group.members]}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit.record(actor, "update", "contact_group", group.id, enterprise_id=group.enterprise_id,
                     summary=group.name, changes=changes)
    db.session.flush()
