"""Pages of filing: the officer's queue, a filing with its materials and history, the decisions."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy.orm import joinedload, selectinload

from emergency.core.access import EDITORS, OFFICERS, record_for, require_roles
from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Township
from emergency.core.timeutil import local_today
from emergency.core.validation import first_errors
from emergency.core.forms import flash_errors, load_form, save

from plans.filing import dashboard as dashboard_queries
from plans.filing import clocks, operations
from plans.filing.models import EVENT_LABELS, FILING_STATUS_LABELS, MATERIALS, RETURN_REASONS, Filing
from plans.filing.pdf import form_pdf
from plans.filing.queries import filing_queue
from plans.filing.schemas import DashboardQuery, ReturnInput, SubmitForm
from plans.plan.models import PlanVersion

bp = Blueprint("filing", __name__)


@bp.app_context_processor
def _filing_state_labels() -> dict[str, Any]:
    """Plan pages show their versions' filing state too (plans ask filing, never import it)."""
    return {"filing_labels": FILING_STATUS_LABELS}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"filing_labels": FILING_STATUS_LABELS, "materials_labels": MATERIALS, "return_reasons": RETURN_REASONS,
            "today": local_today(), "event_labels": EVENT_LABELS}


def _days_left(filings) -> dict[int, int | None]:
    """The working days left on each filing's running clock, by filing id (computed before rendering)."""
    today = local_today()
    return {f.id: operations.working_days_left(f, today) for f in filings}


@bp.app_context_processor
def _held_filings() -> dict[str, Any]:
    """Officers and admins are told on every page of filings held on a provisional decision date."""
    if not (current_user and current_user.is_authenticated and current_user.role.value in ("admin", "officer", "viewer")):
        return {}
    held = db.session.scalars(clocks.held(local_today()).with_only_columns(
        Filing.decide_by_provisional_year)).all()
    return {"held_filing_count": len(held), "held_filing_year": min(held) if held else None}


def _filing(filing_id: int, *, edit: bool = False) -> Filing:
    return record_for(current_user, Filing, filing_id, edit=edit)


@bp.route("/filings")
@login_required
def filings():
    """Officers: the queue by deadline; enterprises: their own filings."""
    queue = filing_queue(current_user, local_today())
    return render_template("filing/queue.html", queue=queue,
                           days_left=_days_left(queue.waiting + queue.overdue + queue.to_submit))


@bp.route("/filings/<int:filing_id>")
@login_required
def filing(filing_id: int):
    item = _filing(filing_id)
    db.session.scalars(sa.select(Filing).where(Filing.id == item.id).options(  # what the page shows, loaded now
        joinedload(Filing.enterprise), joinedload(Filing.version).joinedload(PlanVersion.plan),
        selectinload(Filing.events), joinedload(Filing.superseded_by).joinedload(Filing.version))).unique().one()
    return render_template("filing/filing.html", filing=item, materials=operations.materials(item),
                           days_left=_days_left([item]))


@bp.route("/filings/<int:filing_id>/submit", methods=["POST"])
@login_required
def submit(filing_id: int):
    item = _filing(filing_id, edit=True)
    data, errors, _raw = load_form(SubmitForm())
    if not errors:
        _result, errors = save(lambda: operations.submit(current_user, item, data))
    if errors:
        flash_errors(errors)
    else:
        flash(_("Submitted. The bureau decides within 5 working days (by %(date)s).",
                date=clocks.date_text(item.decide_by, item.decide_by_provisional_year)), "success")
    return redirect(url_for(".filing", filing_id=item.id))


@bp.route("/filings/<int:filing_id>/accept", methods=["POST"])
@require_roles(*EDITORS)
def accept(filing_id: int):
    item = _filing(filing_id)
    _result, errors = save(lambda: operations.accept(current_user, item))
    flash_errors(errors)
    if not errors:
        flash(_("Filed as %(number)s; the enterprise is told by SMS.", number=item.number), "success")
    return redirect(url_for(".filing", filing_id=item.id))


@bp.route("/filings/<int:filing_id>/return", methods=["POST"])
@require_roles(*EDITORS)
def return_(filing_id: int):
    item = _filing(filing_id)

    def run():
        data = ReturnInput().load({"items": request.form.getlist("items"), "note": request.form.get("note", "")})
        return operations.return_filing(current_user, item, data["items"], data["note"])

    _result, errors = save(run)
    if errors:
        flash(_("Tick every missing or wrong item."), "error")
    else:
        flash(_("Returned; the enterprise is told every item at once."), "success")
    return redirect(url_for(".filing", filing_id=item.id))


@bp.route("/filings/<int:filing_id>/form.pdf")
@login_required
def form(filing_id: int):
    item = _filing(filing_id)
    if not item.filed:
        abort(404)
    return send_file(form_pdf(item), mimetype="application/pdf", download_name=f"备案登记表-{item.number}.pdf")


@bp.route("/dashboard/plans")
@require_roles(*OFFICERS)
def dashboard():
    """Officers: filing rates by township and industry, decisions waiting, overdue filings, evaluations due."""
    raw = {key: value.strip() for key, value in request.args.items() if value.strip()}
    try:
        params = DashboardQuery().load(raw)
        errors: dict[str, str] = {}
    except ValidationError as exc:
        params, errors = DashboardQuery().load({}), first_errors(exc.normalized_messages())
    scope = dashboard_queries.Scope(params.get("township_id"), params.get("industry"))
    pages = {name: params[f"{name}_page"] for name in ("waiting", "overdue", "evaluations")}
    locale = str(get_locale() or "zh")
    figures = dashboard_queries.dashboard(local_today(), locale, scope, pages)
    townships = db.session.execute(sa.select(Township.id, Township.name).order_by(Township.id)).all()
    industry_choices = [(i.code, i.label(locale)) for i in industries.INDUSTRIES
                        if i.code in dashboard_queries.MUST_FILE_CODES]
    rows = [*(figures.waiting.items if figures.waiting else []), *(figures.overdue.items if figures.overdue else [])]
    return render_template("filing/dashboard.html", dash=figures, days_left=_days_left(rows), horizon=dashboard_queries.EVALUATION_HORIZON_DAYS,
                           scope=scope, townships=townships, industry_choices=industry_choices,
                           errors=errors), (422 if errors else 200)
