"""The audit trail page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from marshmallow import ValidationError

from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.validation import first_errors
from emergency.audit.models import AuditEntry
from emergency.audit.queries import audit_select
from emergency.audit.schemas import AuditQuery

bp = Blueprint("audit", __name__)


@bp.route("/audit")
@login_required
def audit_list():
    raw = {k: v for k, v in request.args.items() if v != "" and k not in ("page", "per_page")}
    errors: dict[str, str] = {}
    try:
        params = AuditQuery().load(raw)
    except ValidationError as exc:
        errors = first_errors(exc.messages)
        params = AuditQuery().load({k: v for k, v in raw.items() if k not in exc.messages})
    page = db.paginate(audit_select(current_user, params), per_page=50, max_per_page=200, error_out=False)
    enterprise_names = dict(db.session.execute(
        sa.select(Enterprise.id, Enterprise.name).where(
            Enterprise.id.in_({e.enterprise_id for e in page.items if e.enterprise_id}))).all())
    object_types = db.session.scalars(sa.select(AuditEntry.object_type).distinct()).all()
    actions = db.session.scalars(sa.select(AuditEntry.action).distinct()).all()
    return render_template("audit/list.html", page=page, params=params, errors=errors,
                           enterprise_names=enterprise_names, object_types=sorted(object_types),
                           actions=sorted(actions))
