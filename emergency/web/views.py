"""Home page, language switch and health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township
from emergency.auth.views import is_local_path

bp = Blueprint("web", __name__)


@bp.route("/")
@login_required
def index():
    if not current_user.is_officer:
        return redirect(url_for("organisations.enterprise_detail", enterprise_id=current_user.enterprise_id))
    active = Enterprise.active.is_(True)
    total = db.session.scalar(sa.select(sa.func.count(Enterprise.id)).where(active)) or 0
    high_risk = db.session.scalar(sa.select(sa.func.count(Enterprise.id)).where(
        active, Enterprise.industry.in_(industries.HIGH_RISK_CODES))) or 0
    crowded = db.session.scalar(sa.select(sa.func.count(Enterprise.id)).where(
        active, Enterprise.industry.in_(industries.CROWDED_CODES))) or 0
    by_township = db.session.execute(
        sa.select(Township.id, Township.name, sa.func.count(Enterprise.id))
        .join(Enterprise, sa.and_(Enterprise.township_id == Township.id, active), isouter=True)
        .group_by(Township.id, Township.name)
        .order_by(Township.name)
    ).all()
    return render_template(
        "home.html", total=total, high_risk=high_risk, crowded=crowded, by_township=by_township,
    )


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code

    target = request.form.get("next")
    return redirect(target if is_local_path(target) else url_for("web.index"))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the database is not answering
        db.session.rollback()
        return jsonify(status="error", database=str(exc.__class__.__name__)), 503
    return jsonify(status="ok", database="ok")
