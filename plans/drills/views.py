"""Pages of drill cycles (presets and custom recurrences) and of occurrences (what is due,
done, overdue or excused), with the excuse."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from emergency.core.access import check_can_edit_enterprise, check_enterprise, record_for
from emergency.core.extensions import db
from emergency.messaging.models import Contact
from emergency.organisations.models import Enterprise, Township
from emergency.core.timeutil import local_today
from emergency.core.validation import bound_int, first_errors
from emergency.core.forms import flash_errors, load_form, save
from plans.plan.models import Plan

from plans.drills import cycles as cycle_ops
from plans.drills import occurrences as occurrence_ops
from plans.drills import recurrence
from plans.drills.models import (
    CYCLE_PRESETS, DRILL_FORMS, FREQUENCIES, OBLIGATION_LABELS, OCCURRENCE_STATUS_LABELS, SCOPE_KINDS, DrillCycle,
    Occurrence,
)
from plans.drills.queries import OCCURRENCE_STATUSES, cycle_select, occurrence_select
from plans.drills.schemas import CycleForm, ExcuseForm

bp = Blueprint("drills", __name__)
LIST_FIELDS = ("weekdays", "plan_ids", "contact_ids")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"preset_labels": CYCLE_PRESETS, "scope_kinds": SCOPE_KINDS, "frequencies": FREQUENCIES,
            "drill_forms": DRILL_FORMS, "occurrence_labels": OCCURRENCE_STATUS_LABELS,
            "obligation_labels": OBLIGATION_LABELS, "describe_rule": recurrence.describe, "today": local_today(),
            "presets": recurrence.PRESETS}


def _cycle(cycle_id: int, *, edit: bool = False) -> DrillCycle:
    return record_for(current_user, DrillCycle, cycle_id, edit=edit)


def _int_arg(name: str) -> int | None:
    return bound_int(request.args.get(name, ""), identifier=True)


# --- cycles -----------------------------------------------------------------------------------------

@bp.route("/drill-cycles")
@login_required
def cycle_list():
    params = {"q": request.args.get("q", "").strip(), "enterprise_id": _int_arg("enterprise_id"),
              "township_id": _int_arg("township_id"), "active": request.args.get("stopped") != "1"}
    page = db.paginate(cycle_select(current_user, params), per_page=50, max_per_page=200)
    ids = [c.id for c in page.items]
    today = local_today()
    nxt = dict(db.session.execute(sa.select(Occurrence.cycle_id, sa.func.min(Occurrence.due_on)).where(
        Occurrence.cycle_id.in_(ids), Occurrence.due_on >= today, Occurrence.drill_id.is_(None),
        Occurrence.excused_at.is_(None)).group_by(Occurrence.cycle_id)).all()) if ids else {}
    overdue = dict(db.session.execute(sa.select(Occurrence.cycle_id, sa.func.count()).where(
        Occurrence.cycle_id.in_(ids), Occurrence.window_end < today, Occurrence.drill_id.is_(None),
        Occurrence.excused_at.is_(None)).group_by(Occurrence.cycle_id)).all()) if ids else {}
    townships = db.session.scalars(sa.select(Township).order_by(Township.name)).all() if current_user.is_officer else []
    return render_template("drills/cycle_list.html", page=page, params=params, next_due=nxt, overdue=overdue,
                           townships=townships)


def _cycle_form_raw() -> dict[str, Any]:
    schema = CycleForm()
    raw: dict[str, Any] = {}
    for key in schema.fields:
        if key in LIST_FIELDS:
            raw[key] = [v for v in request.form.getlist(key) if v.strip()]
        else:
            value = (request.form.get(key) or "").strip()
            raw[key] = value or None
    return raw


def _present(schema, raw: dict[str, Any]) -> dict[str, Any]:
    """Blank inputs mean "not given" (the preset's value), except for required fields."""
    return {k: v for k, v in raw.items() if v not in (None, []) or schema.fields[k].required}


def _load_cycle_form() -> tuple[dict | None, dict[str, str], dict[str, Any]]:
    """The cycle form validated as a whole: every field's error at once, the recurrence's included."""
    schema = CycleForm()
    raw = _cycle_form_raw()
    errors: dict[str, str] = {}
    try:
        data = schema.load(_present(schema, raw))
    except ValidationError as exc:
        errors = first_errors(exc.normalized_messages())
        rest = {k: v for k, v in raw.items() if k not in errors}
        try:
            data = schema.load(_present(schema, rest), partial=True)
        except ValidationError:
            return None, errors, raw
    try:
        data = schema.to_input(data)
        if data.get("rule"):
            recurrence.validate(data["rule"])
    except ValidationError as exc:
        errors = first_errors(exc.normalized_messages()) | errors
    return (None if errors else data), errors, raw


def _choices(enterprise_id: int) -> dict[str, Any]:
    plans = db.session.scalars(sa.select(Plan).where(Plan.enterprise_id == enterprise_id, Plan.active.is_(True))
                               .order_by(Plan.id)).all()
    contacts = db.session.scalars(sa.select(Contact).where(Contact.enterprise_id == enterprise_id,
                                                           Contact.active.is_(True)).order_by(Contact.name)).all()
    return {"plans": plans, "contacts": contacts}


def _rule_errors(errors: dict[str, str]) -> dict[str, str]:
    """Show "rule.day" under the form's "day" input."""
    return {key.removeprefix("rule."): value for key, value in errors.items()}


@bp.route("/enterprises/<int:enterprise_id>/drill-cycles/new", methods=["GET", "POST"])
@login_required
def cycle_new(enterprise_id: int):
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    check_can_edit_enterprise(current_user, enterprise.id)
    preset = request.args.get("preset", "weekly_small")
    values: dict[str, Any] = {"preset": preset if preset in CYCLE_PRESETS else "weekly_small",
                              "starts_on": local_today().isoformat(), "weekdays": [], "plan_ids": [],
                              "contact_ids": [], "shift_holidays": True}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors, values = _load_cycle_form()
        if not errors:
            cycle, errors = save(lambda: cycle_ops.create_cycle(current_user, enterprise, data))
            if not errors:
                flash(_("Drill cycle created: its occurrences are in the calendar."), "success")
                return redirect(url_for(".cycle", cycle_id=cycle.id))
        errors = _rule_errors(errors)
    return render_template("drills/cycle_form.html", enterprise=enterprise, cycle=None, values=values,
                           errors=errors, **_choices(enterprise.id)), (422 if errors else 200)


@bp.route("/drill-cycles/<int:cycle_id>")
@login_required
def cycle(cycle_id: int):
    item = _cycle(cycle_id)
    today = local_today()
    past = db.session.scalars(sa.select(Occurrence).where(Occurrence.cycle_id == item.id, Occurrence.due_on < today)
                              .order_by(Occurrence.due_on.desc()).limit(12)).all()
    coming = db.session.scalars(sa.select(Occurrence).where(Occurrence.cycle_id == item.id,
                                                            Occurrence.due_on >= today)
                                .order_by(Occurrence.due_on).limit(12)).all()
    return render_template("drills/cycle.html", cycle=item, past=past, coming=coming)


def _cycle_values(item: DrillCycle) -> dict[str, Any]:
    rule = item.rule
    values = {name: getattr(item, name) for name in cycle_ops.FIELDS if name != "rule"}
    values.update({"freq": rule["freq"], "weekdays": rule.get("weekdays", []), "interval": rule.get("interval"),
                   "by": "day" if "day" in rule else "nth", "day": rule.get("day"), "nth": rule.get("nth"),
                   "weekday": rule.get("weekday"), "month": rule.get("month"),
                   "plan_ids": [p.id for p in item.plans], "contact_ids": [c.id for c in item.contacts],
                   # a cycle made before the setting existed is offered the new default when edited
                   "shift_holidays": item.shift_holidays is not False})
    return values


@bp.route("/drill-cycles/<int:cycle_id>/edit", methods=["GET", "POST"])
@login_required
def cycle_edit(cycle_id: int):
    item = _cycle(cycle_id, edit=True)
    if not item.active:
        abort(404)
    values, errors = _cycle_values(item), {}
    if request.method == "POST":
        data, errors, values = _load_cycle_form()
        if not errors:
            data.setdefault("rule", None)
            if data["rule"] is None and data["preset"] == item.preset:
                data["rule"] = item.rule
            _changes, errors = save(lambda: cycle_ops.update_cycle(current_user, item, data))
            if not errors:
                flash(_("Drill cycle saved: occurrences from today on follow the change; past ones stay."), "success")
                return redirect(url_for(".cycle", cycle_id=item.id))
        errors = _rule_errors(errors)
    return render_template("drills/cycle_form.html", enterprise=item.enterprise, cycle=item, values=values,
                           errors=errors, **_choices(item.enterprise_id)), (422 if errors else 200)


@bp.route("/drill-cycles/<int:cycle_id>/stop", methods=["POST"])
@login_required
def cycle_stop(cycle_id: int):
    item = _cycle(cycle_id, edit=True)
    if item.active:
        save(lambda: cycle_ops.stop_cycle(current_user, item))
        flash(_("Drill cycle stopped: its future occurrences are removed, its history stays."), "success")
    return redirect(url_for(".cycle", cycle_id=item.id))


# --- occurrences -------------------------------------------------------------------------------------

@bp.route("/occurrences")
@login_required
def occurrence_list():
    statuses = [s for s in request.args.getlist("status") if s in OCCURRENCE_STATUSES] or ["due", "overdue"]
    params = {"status": statuses, "enterprise_id": _int_arg("enterprise_id"), "township_id": _int_arg("township_id"),
              "industry": request.args.get("industry") or None, "obligation": request.args.get("obligation") or None}
    today = local_today()
    page = db.paginate(occurrence_select(current_user, params, today), per_page=50, max_per_page=200)
    townships = db.session.scalars(sa.select(Township).order_by(Township.name)).all() if current_user.is_officer else []
    return render_template("drills/occurrences.html", page=page, params=params, townships=townships,
                           statuses=OCCURRENCE_STATUSES)


@bp.route("/occurrences/<int:occurrence_id>/excuse", methods=["POST"])
@login_required
def occurrence_excuse(occurrence_id: int):
    occurrence = record_for(current_user, Occurrence, occurrence_id, edit=True)
    check_enterprise(current_user, occurrence.enterprise_id)
    data, errors, _raw = load_form(ExcuseForm())
    if not errors:
        _result, errors = save(lambda: occurrence_ops.excuse(current_user, occurrence, data["reason"]))
    if errors:
        flash_errors(errors)
    else:
        flash(_("Occurrence excused; the reason is kept."), "success")
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for(".occurrence_list")
    return redirect(target)
