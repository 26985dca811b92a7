"""Pages of the county register: enterprises, townships, import and export."""
from __future__ import annotations

import io
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from emergency.core.access import EDITORS, check_can_edit_enterprise, check_enterprise, require_roles
from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI
from emergency.core.validation import first_errors
from emergency.core.sheets import XLSX
from emergency.core.forms import import_upload, load_form, save
from emergency.organisations import industries, operations, spreadsheet
from emergency.organisations.models import Enterprise, Township
from emergency.organisations.obligations import obligations_for
from emergency.organisations.queries import enterprise_select
from emergency.organisations.schemas import ENTERPRISE_SELF_SERVICE_FIELDS, EnterpriseForm, EnterpriseQuery, TownshipInput
from emergency.audit.models import AuditEntry

bp = Blueprint("organisations", __name__)


def _townships() -> list[Township]:
    return db.session.scalars(sa.select(Township).order_by(Township.name)).all()


def _list_params() -> tuple[dict, dict[str, str]]:
    """Validated list filters; invalid ones are dropped and reported."""
    raw = {k: v for k, v in request.args.items() if v != ""}
    try:
        return EnterpriseQuery().load(raw), {}
    except ValidationError as exc:
        errors = first_errors(exc.messages)
        cleaned = {k: v for k, v in raw.items() if k not in exc.messages}
        return EnterpriseQuery().load(cleaned), errors


@bp.route("/enterprises")
@login_required
def enterprise_list():
    if not current_user.is_officer:
        return redirect(url_for(".enterprise_detail", enterprise_id=current_user.enterprise_id))
    params, errors = _list_params()
    page = db.paginate(enterprise_select(current_user, params), max_per_page=200, error_out=False)
    return render_template(
        "organisations/enterprise_list.html", page=page, params=params, errors=errors,
        townships=_townships(), industries=industries.INDUSTRIES, scales=industries.SCALES,
    )


@bp.route("/enterprises/export.xlsx")
@login_required
def enterprise_export():
    params, _errors = _list_params()
    rows = db.session.scalars(enterprise_select(current_user, params)).all()
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    return send_file(io.BytesIO(spreadsheet.export_workbook(rows)), mimetype=XLSX,
                     as_attachment=True, download_name=f"enterprises-{stamp}.xlsx")


@bp.route("/enterprises/<int:enterprise_id>")
@login_required
def enterprise_detail(enterprise_id: int):
    check_enterprise(current_user, enterprise_id)
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.id == enterprise_id)
                                   .options(joinedload(Enterprise.township)))
    if enterprise is None:
        abort(404)

    recent = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.enterprise_id == enterprise.id)
        .order_by(AuditEntry.id.desc()).limit(10)
    ).all()
    return render_template("organisations/enterprise_detail.html", enterprise=enterprise,
                           obligations=obligations_for(enterprise), recent=recent)


def _enterprise_form(enterprise: Enterprise | None):
    editable = None
    if enterprise is not None and not current_user.can_edit_register:
        editable = ENTERPRISE_SELF_SERVICE_FIELDS
    errors: dict[str, str] = {}
    values: dict = {}
    if enterprise is not None:
        values = {field: getattr(enterprise, field) for field in EnterpriseForm().fields}
    if request.method == "POST":
        schema = EnterpriseForm(only=tuple(editable) if editable else None)
        data, errors, values = load_form(schema)
        if data is not None:
            def apply() -> tuple[Enterprise, str]:
                if enterprise is None:
                    created = operations.create_enterprise(current_user, data)
                    return created, _("Enterprise %(name)s added.", name=created.name)
                changes = operations.update_enterprise(current_user, enterprise, data)
                return enterprise, (_("Saved.") if changes else _("Nothing was changed."))

            saved, errors = save(apply)
            if not errors:
                flash(saved[1], "success")
                return redirect(url_for(".enterprise_detail", enterprise_id=saved[0].id))
    return render_template(
        "organisations/enterprise_form.html", enterprise=enterprise, values=values, errors=errors,
        editable=editable, townships=_townships(), industries=industries.INDUSTRIES, scales=industries.SCALES,
    ), (422 if errors else 200)


@bp.route("/enterprises/new", methods=["GET", "POST"])
@require_roles(*EDITORS)
def enterprise_new():
    return _enterprise_form(None)


@bp.route("/enterprises/<int:enterprise_id>/edit", methods=["GET", "POST"])
@login_required
def enterprise_edit(enterprise_id: int):
    check_can_edit_enterprise(current_user, enterprise_id)
    return _enterprise_form(db.get_or_404(Enterprise, enterprise_id))


@bp.route("/enterprises/<int:enterprise_id>/active", methods=["POST"])
@require_roles(*EDITORS)
def enterprise_active(enterprise_id: int):
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    active = request.form.get("active") == "1"
    operations.set_enterprise_active(current_user, enterprise, active)
    db.session.commit()
    flash(_("Enterprise enabled.") if active else _("Enterprise disabled; its records are kept."), "success")
    return redirect(url_for(".enterprise_detail", enterprise_id=enterprise.id))


@bp.route("/enterprises/import", methods=["GET", "POST"])
@require_roles(*EDITORS)
def enterprise_import():
    errors = []
    if request.method == "POST":
        created, errors = import_upload(
            lambda stream: operations.import_enterprises(current_user, spreadsheet.parse_rows(stream, operations.county())))
        if created is not None:
            flash(_("%(n)s enterprises imported.", n=len(created)), "success")
            return redirect(url_for(".enterprise_list", sort="-created_at"))
    return render_template(
        "import.html", errors=errors, title=_("Import enterprises"), heading=_("Import enterprises from Excel"),
        intro=_("Fill in the template (one enterprise per row, Chinese column headers) and upload it. Either every "
                "row is valid and all are imported, or nothing is imported and every problem is listed."),
        template_url=url_for(".enterprise_import_template")), (422 if errors else 200)


@bp.route("/enterprises/import/template.xlsx")
@require_roles(*EDITORS)
def enterprise_import_template():
    return send_file(io.BytesIO(spreadsheet.template_workbook()), mimetype=XLSX,
                     as_attachment=True, download_name="enterprise-import-template.xlsx")


@bp.route("/townships", methods=["GET", "POST"])
@login_required
def township_list():
    if not current_user.is_officer:
        abort(403)
    errors: dict[str, str] = {}
    values: dict = {}
    if request.method == "POST":
        if not current_user.can_edit_register:
            abort(403)
        data, errors, values = load_form(TownshipInput())
        if data:
            township, errors = save(lambda: operations.create_township(current_user, operations.county(), data))
            if not errors:
                flash(_("Township %(name)s added.", name=township.name), "success")
                return redirect(url_for(".township_list"))
    counts = dict(db.session.execute(
        sa.select(Enterprise.township_id, sa.func.count(Enterprise.id))
        .where(Enterprise.active.is_(True)).group_by(Enterprise.township_id)).all())
    return render_template("organisations/townships.html", townships=_townships(), counts=counts,
                           errors=errors, values=values), (422 if errors else 200)


@bp.route("/townships/<int:township_id>", methods=["GET", "POST"])
@require_roles(*EDITORS)
def township_edit(township_id: int):
    township = db.get_or_404(Township, township_id)
    errors: dict[str, str] = {}
    values = {"name": township.name, "code": township.code}
    if request.method == "POST":
        data, errors, values = load_form(TownshipInput())
        if data:
            _result, errors = save(lambda: operations.update_township(current_user, township, data))
            if not errors:
                flash(_("Saved."), "success")
                return redirect(url_for(".township_list"))
    return render_template("organisations/township_form.html", township=township, errors=errors,
                           values=values), (422 if errors else 200)
