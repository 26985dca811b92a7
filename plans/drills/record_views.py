"""Pages: drill records (AQ/T 9007-2019), their photos and documents, evaluations (AQ/T 9009),
corrective actions (整改), the bureau's reported-drill list and spot checks (抽查), and the
publication gate's waiver (its state on a plan version's page is answered in handlers.py)."""
from __future__ import annotations

from itertools import zip_longest
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from emergency.core import files
from emergency.core.access import (
    EDITORS,
    check_can_edit_enterprise,
    record_for,
    require_roles,
    scope_to_user,
)
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise, Township
from emergency.core.timeutil import local_today, to_local
from emergency.core.validation import id_arg, ids_of
from emergency.core.forms import _blank_as, flash_errors, form_data, load_form, save
from plans.plan.models import Plan, PlanVersion, VersionStatus
from plans.plan.queries import version_for

from plans.drills import actions, gate, records
from plans.drills.models import (
    ACTION_STATUS_LABELS,
    DRILL_CONTENTS,
    DRILL_FORMS,
    DRILL_PURPOSES,
    RATINGS,
    SPOT_CHECK_RESULTS,
    SPOT_CHECK_STATUS_LABELS,
    CorrectiveAction,
    Drill,
    DrillCycle,
    DrillFile,
    Occurrence,
    SpotCheck,
)
from plans.drills.record_schemas import (
    ActionForm,
    AnswerForm,
    DrillForm,
    DrillEvaluationInput,
    SpotCheckForm,
)
from plans.drills.schemas import OverrideForm

bp = Blueprint("drill_records", __name__)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"drill_forms": DRILL_FORMS, "drill_contents": DRILL_CONTENTS, "drill_purposes": DRILL_PURPOSES,
            "ratings": RATINGS, "action_labels": ACTION_STATUS_LABELS, "spot_results": SPOT_CHECK_RESULTS,
            "spot_labels": SPOT_CHECK_STATUS_LABELS, "today": local_today()}


def _list(name: str) -> list[str]:
    """A form field typed as a list separated by 、, commas or new lines."""
    text = (request.form.get(name) or "").replace("，", ",").replace("、", ",").replace("\n", ",")
    return [item.strip() for item in text.split(",") if item.strip()]


def _can_edit() -> bool:
    return current_user.role != Role.viewer


# --- drill records ------------------------------------------------------------------------------

@bp.route("/drills")
@login_required
def drill_list():
    params = {"enterprise_id": request.args.get("enterprise_id", type=id_arg),
              "township_id": request.args.get("township_id", type=id_arg),
              "form": request.args.get("form") or None}
    if params["form"] not in DRILL_FORMS:
        params["form"] = None
    page = db.paginate(actions.drill_select(current_user, params), per_page=50, max_per_page=200)
    townships = db.session.scalars(sa.select(Township).order_by(Township.name)).all() if current_user.is_officer \
        else []
    return render_template("drills/record_list.html", page=page, params=params, townships=townships,
                           reported_only=False)


@bp.route("/drills/reported")
@require_roles(Role.admin, Role.officer, Role.viewer)
def reported():
    params = {"township_id": request.args.get("township_id", type=id_arg), "reported": True}
    page = db.paginate(actions.drill_select(current_user, params), per_page=50, max_per_page=200)
    townships = db.session.scalars(sa.select(Township).order_by(Township.name)).all()
    return render_template("drills/record_list.html", page=page, params=params, townships=townships,
                           reported_only=True)


def _drill_choices(enterprise: Enterprise) -> dict[str, Any]:
    """The versions, cycles and open occurrences a drill of ``enterprise`` may name."""
    versions = [v for v in db.session.scalars(sa.select(PlanVersion).join(Plan).where(
        Plan.enterprise_id == enterprise.id, Plan.active.is_(True)).order_by(Plan.id, PlanVersion.number))
        if v.status == VersionStatus.published or gate.needs_drill(v)]
    cycles = db.session.scalars(sa.select(DrillCycle).where(DrillCycle.enterprise_id == enterprise.id,
                                                            DrillCycle.active.is_(True)).order_by(DrillCycle.name)).all()
    occurrences = db.session.scalars(sa.select(Occurrence).where(
        Occurrence.enterprise_id == enterprise.id, Occurrence.drill_id.is_(None), Occurrence.excused_at.is_(None),
        Occurrence.window_start <= local_today()).order_by(Occurrence.due_on).limit(50)).all()
    return {"versions": versions, "cycles": cycles, "occurrences": occurrences}


def _drill_raw() -> tuple[dict[str, Any], dict[str, Any]]:
    """The posted drill form: (values to show again, raw input for DrillForm)."""
    values = form_data(set(DrillForm().fields))
    raw = _blank_as(DrillForm(), values)
    raw.pop("enterprise_id", None)
    raw["participants"] = _list("participants")
    raw["observers"] = _list("observers")
    raw["version_ids"] = request.form.getlist("version_ids")
    if request.form.getlist("occurrence_ids"):
        raw["occurrence_ids"] = request.form.getlist("occurrence_ids")
    values["version_ids"] = ids_of(raw["version_ids"])
    values["occurrence_ids"] = ids_of(request.form.getlist("occurrence_ids"))
    return values, raw


@bp.route("/drills/new", methods=["GET", "POST"])
@login_required
def drill_new():
    if current_user.role == Role.enterprise:
        enterprise_id = current_user.enterprise_id
    else:
        enterprise_id = request.values.get("enterprise_id", type=id_arg)
    if enterprise_id is None:  # an officer chooses the enterprise first
        if current_user.role == Role.viewer:
            abort(403)
        enterprises = db.session.scalars(sa.select(Enterprise).where(Enterprise.active.is_(True))
                                         .order_by(Enterprise.name)).all()
        return render_template("drills/choose_enterprise.html", enterprises=enterprises)
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    check_can_edit_enterprise(current_user, enterprise.id)
    version_id = request.args.get("version_id", type=id_arg)
    values: dict[str, Any] = {"form": "tabletop", "content": "single", "purpose": "inspection",
                              "duration_minutes": 60, "version_ids": [version_id] if version_id else [],
                              "occurrence_ids": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, raw = _drill_raw()

        def run() -> Drill:
            drill = records.record_drill(current_user, enterprise, DrillForm().load(raw))
            for upload in request.files.getlist("files"):
                if upload and upload.filename:
                    records.add_file(current_user, drill, upload.filename, upload.read())
            return drill

        drill, errors = save(run)
        if not errors:
            flash(_("Drill recorded."), "success")
            return redirect(url_for(".drill", drill_id=drill.id))
    return render_template("drills/record_form.html", enterprise=enterprise, drill=None, values=values,
                           errors=errors, **_drill_choices(enterprise)), (422 if errors else 200)


@bp.route("/drills/<int:drill_id>")
@login_required
def drill(drill_id: int):
    item = record_for(current_user, Drill, drill_id)
    db.session.scalars(sa.select(Drill).where(Drill.id == item.id).options(  # what the page shows, loaded now
        selectinload(Drill.enterprise), selectinload(Drill.cycle),
        selectinload(Drill.versions).selectinload(PlanVersion.plan), selectinload(Drill.occurrences),
        selectinload(Drill.files), selectinload(Drill.evaluation), selectinload(Drill.spot_checks))).one()
    drill_actions = db.session.scalars(sa.select(CorrectiveAction).where(CorrectiveAction.drill_id == item.id)
                                       .order_by(CorrectiveAction.id)
                                       .options(selectinload(CorrectiveAction.evidence_file))).all()
    # The plan revisions the actions started, by version id (was a template global querying per row).
    revision_ids = {a.revision_version_id for a in drill_actions if a.revision_version_id}
    revisions = {v.id: v for v in db.session.scalars(sa.select(PlanVersion).where(PlanVersion.id.in_(revision_ids))
                                                     .options(selectinload(PlanVersion.plan)))} if revision_ids else {}
    plans = db.session.scalars(sa.select(Plan).where(Plan.enterprise_id == item.enterprise_id,
                                                     Plan.active.is_(True)).order_by(Plan.id)).all()
    return render_template("drills/record.html", drill=item, actions=drill_actions, plans=plans,
                           revisions=revisions, can_edit=_can_edit())


@bp.route("/drills/<int:drill_id>/edit", methods=["GET", "POST"])
@login_required
def drill_edit(drill_id: int):
    item = record_for(current_user, Drill, drill_id, edit=True)
    values: dict[str, Any] = {
        "title": item.title, "started_at": to_local(item.started_at).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": item.duration_minutes, "form": item.form, "content": item.content,
        "purpose": item.purpose, "scenario": item.scenario, "location": item.location, "organiser": item.organiser,
        "participant_count": item.participant_count, "participants": "、".join(item.participants or []),
        "observers": "、".join(item.observers or []), "version_ids": [v.id for v in item.versions],
        "cycle_id": item.cycle_id, "occurrence_ids": [o.id for o in item.occurrences]}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, raw = _drill_raw()
        raw.setdefault("cycle_id", None)
        changes, errors = save(lambda: records.update_drill(current_user, item, DrillForm().load(raw)))
        if not errors:
            flash(_("Drill record corrected; the audit trail keeps what it said before.") if changes
                  else _("Nothing changed."), "success")
            return redirect(url_for(".drill", drill_id=item.id))
    choices = _drill_choices(item.enterprise)
    choices["versions"] = list(item.versions) + [v for v in choices["versions"] if v not in item.versions]
    choices["occurrences"] = list(item.occurrences) + choices["occurrences"]
    return render_template("drills/record_form.html", enterprise=item.enterprise, drill=item, values=values,
                           errors=errors, **choices), (422 if errors else 200)


@bp.route("/drills/<int:drill_id>/files", methods=["POST"])
@login_required
def drill_files(drill_id: int):
    item = record_for(current_user, Drill, drill_id, edit=True)
    uploads = [u for u in request.files.getlist("files") if u and u.filename]

    def run():
        if not uploads:
            raise ValidationError({"file": [_("Choose a photo (JPG, PNG) or a document (PDF, DOCX).")]})
        return [records.add_file(current_user, item, u.filename, u.read()) for u in uploads]

    added, errors = save(run)
    flash_errors(errors)
    if not errors:
        flash(_("%(n)s files added.", n=len(added)), "success")
    return redirect(url_for(".drill", drill_id=item.id) + "#files")


@bp.route("/drill-files/<int:file_id>")
@login_required
def drill_file(file_id: int):
    item = record_for(current_user, DrillFile, file_id)
    return send_file(files.path_for(item.sha256), mimetype=files.MIME_TYPES[item.file_type],
                     as_attachment=item.kind != "photo", download_name=files.safe_name(item.filename))


# --- evaluation -----------------------------------------------------------------------------------

def _rows(*names: str) -> list[dict[str, str]]:
    """Rows of a table of inputs named ``names`` (each given once per row); blank rows are dropped."""
    columns = [request.form.getlist(name) for name in names]
    rows = []
    for cells in zip_longest(*columns, fillvalue=""):
        row = {name: (cell or "").strip() for name, cell in zip(names, cells, strict=True)}
        if any(row.values()):
            rows.append(row)
    return rows


def _evaluation_raw() -> dict[str, Any]:
    objectives = [{"objective": r["objective"], "rating": r["rating"] or None, "note": r["objective_note"]}
                  for r in _rows("objective", "rating", "objective_note") if r["objective"] or r["objective_note"]]
    problems = []
    for r in _rows("problem", "problem_action", "owner_name", "owner_mobile", "due_on", "revise_plan_id"):
        if not (r["problem"] or r["owner_name"] or r["problem_action"]):
            continue
        problems.append({"problem": r["problem"], "action": r["problem_action"], "owner_name": r["owner_name"],
                         "owner_mobile": r["owner_mobile"] or None, "due_on": r["due_on"] or None,
                         "revise_plan_id": r["revise_plan_id"] or None})
    return {"evaluated_on": request.form.get("evaluated_on") or None,
            "evaluator": (request.form.get("evaluator") or "").strip(), "objectives": objectives,
            "summary": (request.form.get("summary") or "").strip(),
            "plan_revision_needed": request.form.get("plan_revision_needed") == "1",
            "revision_sections": _list("revision_sections"), "problems": problems}


@bp.route("/drills/<int:drill_id>/evaluation", methods=["GET", "POST"])
@login_required
def evaluation(drill_id: int):
    item = record_for(current_user, Drill, drill_id, edit=True)
    current = item.evaluation
    raw: dict[str, Any] = {
        "evaluated_on": (current.evaluated_on if current else local_today()).isoformat(),
        "evaluator": current.evaluator if current else "", "objectives": list(current.objectives) if current else [],
        "summary": current.summary if current else "",
        "plan_revision_needed": current.plan_revision_needed if current else False,
        "revision_sections": list(current.revision_sections) if current else [], "problems": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        raw = _evaluation_raw()
        _evaluation, errors = save(lambda: records.save_evaluation(current_user, item, DrillEvaluationInput().load(raw)))
        if not errors:
            flash(_("Evaluation saved."), "success")
            return redirect(url_for(".drill", drill_id=item.id) + "#evaluation")
    plans = db.session.scalars(sa.select(Plan).where(Plan.enterprise_id == item.enterprise_id,
                                                     Plan.active.is_(True)).order_by(Plan.id)).all()
    return render_template("drills/evaluation_form.html", drill=item, values=raw, errors=errors, plans=plans,
                           field_label=_evaluation_label), (422 if errors else 200)


def _evaluation_label(key: str) -> str:
    labels = {"evaluated_on": _("Evaluation date"), "evaluator": _("Evaluator"), "objectives": _("Objectives"),
              "objective": _("Objective"), "rating": _("Rating"), "note": _("Note"), "summary": _("Summary"),
              "revision_sections": _("Sections to revise"), "problems": _("Problems found"),
              "problem": _("Problem"), "action": _("Corrective action"), "owner_name": _("Owner"),
              "owner_mobile": _("Owner's mobile"), "due_on": _("Due date"), "revise_plan_id": _("Revise plan")}
    parts = key.split(".")
    named = [labels.get(p, str(int(p) + 1) if p.isdigit() else p) for p in parts]
    return " · ".join(named)


# --- corrective actions ---------------------------------------------------------------------------

@bp.route("/corrective-actions")
@login_required
def action_list():
    params = {"status": request.args.get("status") or None, "overdue": request.args.get("overdue") == "1",
              "township_id": request.args.get("township_id", type=id_arg) if current_user.is_officer else None,
              "enterprise_id": request.args.get("enterprise_id", type=id_arg)}
    if params["status"] not in ACTION_STATUS_LABELS:
        params["status"] = None
    query = scope_to_user(actions.action_select(params), current_user, CorrectiveAction.enterprise_id)
    page = db.paginate(query, per_page=50, max_per_page=200)
    townships = db.session.scalars(sa.select(Township).order_by(Township.name)).all() if current_user.is_officer \
        else []
    return render_template("drills/action_list.html", page=page, params=params, townships=townships)


@bp.route("/corrective-actions/<int:action_id>/status", methods=["POST"])
@login_required
def action_status(action_id: int):
    item = record_for(current_user, CorrectiveAction, action_id, edit=True)
    data, errors, _raw = load_form(ActionForm())
    upload = request.files.get("evidence_file")
    if not errors:
        def run():
            evidence_file = None
            if upload is not None and upload.filename:
                evidence_file = records.add_file(current_user, item.drill, upload.filename, upload.read())
            return actions.change_status(current_user, item, data, evidence_file)

        _result, errors = save(run)
    flash_errors(errors)
    if not errors:
        flash(_("Corrective action: %(status)s.", status=ACTION_STATUS_LABELS[item.status.value]), "success")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/")
                    and not (request.form.get("next") or "").startswith("//")
                    else url_for(".drill", drill_id=item.drill_id) + "#actions")


@bp.route("/corrective-actions/<int:action_id>/revision", methods=["POST"])
@login_required
def action_revision(action_id: int):
    item = record_for(current_user, CorrectiveAction, action_id, edit=True)
    plan_id = request.form.get("plan_id", type=id_arg)

    def run():
        if plan_id is None:
            raise ValidationError({"plan_id": [_("Choose the plan to revise.")]})
        return actions.start_revision(current_user, item, plan_id)

    version, errors = save(run)
    flash_errors(errors)
    if errors:
        return redirect(url_for(".drill", drill_id=item.drill_id) + "#actions")
    flash(_("Revision started as version %(n)s because a drill found problems: edit it, then publish.",
            n=version.number), "success")
    return redirect(url_for("plans.version", plan_id=version.plan_id, number=version.number))


# --- spot checks ----------------------------------------------------------------------------------

@bp.route("/drills/<int:drill_id>/spot-check", methods=["POST"])
@require_roles(*EDITORS)
def spot_check(drill_id: int):
    item = record_for(current_user, Drill, drill_id, edit=True)
    data, errors, _raw = load_form(SpotCheckForm())
    if not errors:
        _check, errors = save(lambda: actions.spot_check(current_user, item, data))
    flash_errors(errors, label=_spot_label)
    if not errors:
        flash(_("Spot check recorded."), "success")
    return redirect(url_for(".drill", drill_id=item.id) + "#spot-checks")


def _spot_label(field: str) -> str:
    return {"checked_on": _("Check date"), "result": _("Result"), "findings": _("Findings"),
            "correction_required": _("Correction required"), "correction_due": _("Deadline"),
            "response": _("Answer"), "drill": _("Drill"), "status": _("Status")}.get(field, field)


@bp.route("/spot-checks/<int:check_id>/answer", methods=["POST"])
@login_required
def spot_answer(check_id: int):
    item = record_for(current_user, SpotCheck, check_id, edit=True)
    data, errors, _raw = load_form(AnswerForm())
    if not errors:
        _check, errors = save(lambda: actions.answer_spot_check(current_user, item, data["response"]))
    flash_errors(errors, label=_spot_label)
    if not errors:
        flash(_("Answer sent to the bureau."), "success")
    return redirect(url_for(".drill", drill_id=item.drill_id) + "#spot-checks")


@bp.route("/spot-checks/<int:check_id>/close", methods=["POST"])
@require_roles(*EDITORS)
def spot_close(check_id: int):
    item = record_for(current_user, SpotCheck, check_id, edit=True)
    _check, errors = save(lambda: actions.close_spot_check(current_user, item))
    flash_errors(errors, label=_spot_label)
    if not errors:
        flash(_("Spot check closed."), "success")
    return redirect(url_for(".drill", drill_id=item.drill_id) + "#spot-checks")


# --- the publication gate -------------------------------------------------------------------------

@bp.route("/plans/<int:plan_id>/versions/<int:number>/waive-drill", methods=["POST"])
@require_roles(*EDITORS)
def waive_drill(plan_id: int, number: int):
    version = version_for(current_user, plan_id, number, edit=True)
    data, errors, _raw = load_form(OverrideForm())
    if not errors:
        _override, errors = save(lambda: gate.override(current_user, version, data["reason"]))
    flash_errors(errors, label=lambda field: _('Reason') if field == 'reason' else _('Version'))
    if not errors:
        flash(_("The drill before publication is waived; the reason is kept in the audit trail."), "success")
    return redirect(url_for("plans.version", plan_id=plan_id, number=number) + "#drill-gate")
