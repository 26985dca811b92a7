"""Pages of the plan system: plans, drafts and their sections, Word import, review,
attachments, publication, revision, comparison, evaluation and the PDFs."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy.orm import selectinload

from emergency.core import files
from emergency.core.access import check_can_edit_enterprise, check_enterprise, record_for
from emergency.auth.models import Role
from emergency.core import signals
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.organisations.obligations import has_obligation
from emergency.core.timeutil import local_today
from emergency.core.validation import id_arg
from emergency.core.forms import _blank_as, flash_errors, form_data, load_form, save

from plans.plan import operations, skeleton
from plans.plan.comparison import compare as compare_versions
from plans.plan.models import (
    ATTACHMENT_KINDS, EVALUATION_CONCLUSIONS, KEY_PARTS, PLAN_KIND_LABELS, REVIEW_CONCLUSION_LABELS,
    REVISION_TRIGGERS, VERSION_STATUS_LABELS, Attachment, Evaluation, Plan, PlanKind, PlanVersion, Review,
)
from plans.plan.pdf import card_pdf, plan_pdf
from plans.plan.queries import plan_select, version_for
from plans.plan.schemas import (
    DraftInput, EvaluationForm, PlanForm, PublishForm, ReviewInput, RevisionForm, SectionForm,
)
from plans.plan import imports
from plans.plan.models import ImportJob

bp = Blueprint("plans", __name__)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"kind_labels": PLAN_KIND_LABELS, "status_labels": VERSION_STATUS_LABELS, "triggers": REVISION_TRIGGERS,
            "key_parts": KEY_PARTS, "attachment_kinds": ATTACHMENT_KINDS, "review_labels": REVIEW_CONCLUSION_LABELS,
            "evaluation_labels": EVALUATION_CONCLUSIONS, "today": local_today()}


def _plan(plan_id: int, *, edit: bool = False) -> Plan:
    return record_for(current_user, Plan, plan_id, edit=edit)


def _version(plan_id: int, number: int, *, edit: bool = False) -> PlanVersion:
    return version_for(current_user, plan_id, number, edit=edit)


def _typed_list(name: str) -> list[str]:
    """A form field typed as a list separated by 、 or commas (full- or half-width)."""
    text = (request.form.get(name) or "").replace("，", ",").replace("、", ",")
    return [item.strip() for item in text.split(",") if item.strip()]


def _load_contents(version: PlanVersion) -> None:
    """Load what the version page shows (sections, reviews with their minutes, attachments) before it renders."""
    db.session.scalars(sa.select(PlanVersion).where(PlanVersion.id == version.id).options(
        selectinload(PlanVersion.sections), selectinload(PlanVersion.reviews).selectinload(Review.minutes),
        selectinload(PlanVersion.attachments))).one()


def _back(version: PlanVersion, anchor: str = ""):
    return redirect(url_for(".version", plan_id=version.plan_id, number=version.number) + anchor)


# --- the plan system ---------------------------------------------------------------------------

@bp.route("/plans")
@login_required
def plan_list():
    if current_user.role == Role.enterprise:
        return redirect(url_for(".enterprise_plans", enterprise_id=current_user.enterprise_id))
    params = {"q": request.args.get("q", "").strip(), "kind": request.args.get("kind") or None,
              "state": request.args.get("state") or None}
    page = db.paginate(plan_select(current_user, params), per_page=50, max_per_page=200)
    return render_template("plans/plan_list.html", page=page, params=params)


@bp.route("/enterprises/<int:enterprise_id>/plans")
@login_required
def enterprise_plans(enterprise_id: int):
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    check_enterprise(current_user, enterprise.id)
    plans = db.session.scalars(sa.select(Plan).where(Plan.enterprise_id == enterprise.id).order_by(Plan.id)
                               .options(selectinload(Plan.versions), selectinload(Plan.children))).all()
    roots = [p for p in plans if p.parent_id is None or p.parent_id not in {q.id for q in plans}]
    return render_template("plans/plan_system.html", enterprise=enterprise, roots=roots, plans=plans,
                           due={p.id: operations.evaluation_due(p) for p in plans},
                           must_review=has_obligation(enterprise, "expert_review"),
                           must_file=has_obligation(enterprise, "file_plans"))


@bp.route("/enterprises/<int:enterprise_id>/plans/new", methods=["GET", "POST"])
@login_required
def plan_new(enterprise_id: int):
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    check_can_edit_enterprise(current_user, enterprise.id)
    values: dict[str, Any] = {"kind": request.args.get("kind", "comprehensive")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_data(set(PlanForm().fields))
        raw = _blank_as(PlanForm(), values)
        raw["accident_types"] = _typed_list("accident_types")
        plan, errors = save(lambda: operations.create_plan(current_user, enterprise, PlanForm().load(raw)))
        if not errors:
            flash(_("Plan created from the GB/T 29639-2020 outline: fill in its sections."), "success")
            return redirect(url_for(".version", plan_id=plan.id, number=1))
    parents = db.session.scalars(sa.select(Plan).where(Plan.enterprise_id == enterprise.id, Plan.active.is_(True),
                                                       Plan.kind != PlanKind.onsite)).all()
    return render_template("plans/plan_form.html", enterprise=enterprise, values=values, errors=errors,
                           parents=parents), (422 if errors else 200)


@bp.route("/plans/<int:plan_id>")
@login_required
def plan(plan_id: int):
    item = _plan(plan_id)
    evaluations = db.session.scalars(sa.select(Evaluation).where(Evaluation.plan_id == item.id)
                                     .order_by(Evaluation.evaluated_on.desc())).all()
    filings = signals.answer(signals.plan_filings, item) or []  # filing lives above plans
    return render_template("plans/plan.html", plan=item, evaluations=evaluations, filings=filings,
                           evaluation_due=operations.evaluation_due(item), errors={}, values={})


@bp.route("/plans/<int:plan_id>/revise", methods=["POST"])
@login_required
def plan_revise(plan_id: int):
    item = _plan(plan_id, edit=True)
    data, errors, _raw = load_form(RevisionForm())
    if not errors:
        version, errors = save(lambda: operations.start_revision(current_user, item, data))
        if not errors:
            flash(_("Revision started as version %(n)s: edit it, then publish.", n=version.number), "success")
            return _back(version)
    flash_errors(errors)
    return redirect(url_for(".plan", plan_id=item.id))


@bp.route("/plans/<int:plan_id>/evaluations", methods=["POST"])
@login_required
def plan_evaluate(plan_id: int):
    item = _plan(plan_id, edit=True)
    data, errors, _raw = load_form(EvaluationForm())
    if not errors:
        _evaluation, errors = save(lambda: operations.record_evaluation(current_user, item, data))
        if not errors:
            flash(_("Evaluation recorded."), "success")
    flash_errors(errors)
    return redirect(url_for(".plan", plan_id=item.id) + "#evaluations")


@bp.route("/plans/<int:plan_id>/compare")
@login_required
def compare(plan_id: int):
    item = _plan(plan_id)
    numbers = [v.number for v in item.versions]
    if len(numbers) < 2:
        flash(_("There is only one version."), "error")
        return redirect(url_for(".plan", plan_id=item.id))
    a = request.args.get("a", type=id_arg) or numbers[-2]
    b = request.args.get("b", type=id_arg) or numbers[-1]
    old = next((v for v in item.versions if v.number == a), None)
    new = next((v for v in item.versions if v.number == b), None)
    if old is None or new is None:
        abort(404)
    comparison = compare_versions(old, new)
    return render_template("plans/compare.html", plan=item, old=old, new=new, numbers=numbers,
                           rows=comparison.rows, key_changes=comparison.key_changes,
                           key_change_labels=[str(KEY_PARTS[k]) for k in comparison.key_changes])




# --- a version and its draft ------------------------------------------------------------------

@bp.route("/plans/<int:plan_id>/versions/<int:number>", methods=["GET", "POST"])
@login_required
def version(plan_id: int, number: int):
    item = _version(plan_id, number, edit=request.method == "POST")
    errors: dict[str, str] = {}
    if request.method == "POST":
        levels = [{"name": n.strip(), "criteria": c.strip()} for n, c in
                  zip(request.form.getlist("level_name"), request.form.getlist("level_criteria")) if n.strip()]
        types = _typed_list("accident_types")
        raw = {"title": request.form.get("title", ""), "subject": request.form.get("subject", ""),
               "response_levels": levels, "accident_types": types}
        if item.revision_trigger:
            raw["revision_note"] = request.form.get("revision_note", "")
        _changes, errors = save(lambda: operations.update_draft(current_user, item, DraftInput().load(raw)))
        if not errors:
            flash(_("Saved."), "success")
            return _back(item)
    blockers = operations.publication_blockers(item) if item.editable else []
    filing = signals.answer(signals.version_filing, item)
    gate_state = signals.answer(signals.drill_gate_state, item) or {"state": "none"}  # drills live above plans
    _load_contents(item)
    return render_template("plans/version.html", plan=item.plan, version=item, errors=errors, blockers=blockers,
                           filing=filing, gate_state=gate_state, hint_for=lambda title: skeleton.hint_for(item.plan.kind, title),
                           must_review=has_obligation(item.plan.enterprise, "expert_review")), (422 if errors else 200)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/sections/new", methods=["GET", "POST"])
@bp.route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>", methods=["GET", "POST"])
@login_required
def section(plan_id: int, number: int, section_id: int | None = None):
    item = _version(plan_id, number, edit=True)
    if not item.editable:
        abort(409)
    current = None
    if section_id is not None:
        current = next((s for s in item.sections if s.id == section_id), None)
        if current is None:
            abort(404)
    values = {"title": current.title, "level": current.level, "body": current.body,
              "key_part": current.key_part or ""} if current else {"level": 1}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_data(set(SectionForm().fields)) | {"body": request.form.get("body", "")}
        raw = _blank_as(SectionForm(), values)
        raw.setdefault("key_part", None)
        saved, errors = save(lambda: operations.save_section(current_user, item, SectionForm().load(raw), current))
        if not errors:
            flash(_("Section saved."), "success")
            return _back(item, f"#section-{saved.id}")
    return render_template("plans/section_form.html", plan=item.plan, version=item, section=current, values=values,
                           errors=errors, hint=skeleton.hint_for(item.plan.kind, values.get("title") or "")), \
        (422 if errors else 200)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>/<action>", methods=["POST"])
@login_required
def section_action(plan_id: int, number: int, section_id: int, action: str):
    item = _version(plan_id, number, edit=True)
    current = next((s for s in item.sections if s.id == section_id), None)
    if current is None or action not in ("up", "down", "delete"):
        abort(404)

    def run():
        if action == "delete":
            operations.delete_section(current_user, item, current)
        else:
            operations.move_section(current_user, item, current, -1 if action == "up" else 1)

    _result, errors = save(run)
    flash_errors(errors)
    return _back(item)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/import", methods=["GET", "POST"])
@login_required
def import_word(plan_id: int, number: int):
    """Upload a .docx: it becomes an import job, whose page shows progress, then the sections it makes."""

    item = _version(plan_id, number, edit=True)
    if not item.editable:
        abort(409)
    errors: dict[str, str] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = {"file": _("Choose a Word file (.docx).")}
        else:
            job, errors = save(lambda: imports.start(current_user, item, upload.filename, upload.read()))
            if not errors:
                return redirect(url_for("plans.import_job", plan_id=plan_id, number=number, job_id=job.id))
    return render_template("plans/import_word.html", plan=item.plan, version=item, job=None,
                           errors=errors), (422 if errors else 200)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/import/<int:job_id>", methods=["GET", "POST"])
@login_required
def import_job(plan_id: int, number: int, job_id: int):
    """An import job: its progress (the page refreshes itself), its error, or the preview and the
    confirmation that replaces the draft's sections."""

    item = _version(plan_id, number, edit=True)
    job = db.session.get(ImportJob, job_id)
    if job is None or job.version_id != item.id:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        _result, errors = save(lambda: imports.confirm(current_user, job))
        if not errors:
            flash(_("%(n)s sections imported from Word.", n=len(job.sections or [])), "success")
            return _back(item)
    return render_template("plans/import_word.html", plan=item.plan, version=item, job=job,
                           stalled=imports.stalled(job), status_label=imports.status_label(job),
                           errors=errors), (422 if errors else 200)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/review", methods=["POST"])
@login_required
def review(plan_id: int, number: int):
    item = _version(plan_id, number, edit=True)
    experts = [{"name": n.strip(), "organisation": o.strip(), "speciality": s.strip(),
                "no_conflict": str(i) in request.form.getlist("expert_no_conflict")}
               for i, (n, o, s) in enumerate(zip(request.form.getlist("expert_name"),
                                                 request.form.getlist("expert_organisation"),
                                                 request.form.getlist("expert_speciality"))) if n.strip()]
    raw = {"held_on": request.form.get("held_on") or None, "conclusion": request.form.get("conclusion") or None,
           "opinion": request.form.get("opinion", ""), "experts": experts}

    def run():
        data = ReviewInput().load(raw)
        minutes = None
        upload = request.files.get("minutes")
        if upload is not None and upload.filename:
            minutes = operations.add_attachment(current_user, item, "review_minutes", upload.filename, upload.read())
        return operations.record_review(current_user, item, data, minutes)

    _review, errors = save(run)
    if errors:
        flash_errors(errors, label=_field_label)
    else:
        flash(_("Review recorded."), "success")
    return _back(item, "#reviews")


def _field_label(field: str) -> str:
    labels = {"held_on": _("Review date"), "conclusion": _("Conclusion"), "experts": _("Experts"),
              "file": _("Minutes"), "opinion": _("Opinion")}
    head = field.split(".", 1)[0]
    return labels.get(head, field)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/attachments", methods=["POST"])
@login_required
def attach(plan_id: int, number: int):
    item = _version(plan_id, number, edit=True)
    kind = request.form.get("kind", "")
    upload = request.files.get("file")

    def run():
        if kind not in ATTACHMENT_KINDS:
            raise ValidationError({"kind": [_("Choose what the file is.")]})
        if upload is None or not upload.filename:
            raise ValidationError({"file": [_("Choose a file.")]})
        return operations.add_attachment(current_user, item, kind, upload.filename, upload.read())

    _attachment, errors = save(run)
    flash_errors(errors)
    if not errors:
        flash(_("File attached."), "success")
    return _back(item, "#attachments")


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    item = record_for(current_user, Attachment, attachment_id)
    return send_file(files.path_for(item.sha256), mimetype=files.MIME_TYPES[item.file_type], as_attachment=True,
                     download_name=files.safe_name(item.filename))


@bp.route("/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def attachment_delete(attachment_id: int):
    item = record_for(current_user, Attachment, attachment_id, edit=True)
    version = item.version
    _result, errors = save(lambda: operations.remove_attachment(current_user, item))
    flash_errors(errors)
    return _back(version, "#attachments")


@bp.route("/plans/<int:plan_id>/versions/<int:number>/publish", methods=["POST"])
@login_required
def publish(plan_id: int, number: int):
    item = _version(plan_id, number, edit=True)
    data, errors, _raw = load_form(PublishForm())
    if not errors:
        data["announce"] = request.form.get("announce") == "1"
        _version_, errors = save(lambda: operations.publish(current_user, item, data))
    if errors:
        flash_errors(errors)
    else:
        flash(_("Published. This version can no longer be changed."), "success")
    return _back(item)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/plan.pdf")
@login_required
def version_pdf(plan_id: int, number: int):
    item = _version(plan_id, number)
    name = f"{item.plan.title}-v{item.number}.pdf"
    return send_file(plan_pdf(item), mimetype="application/pdf", download_name=name)


@bp.route("/plans/<int:plan_id>/versions/<int:number>/card.pdf")
@login_required
def card(plan_id: int, number: int):
    item = _version(plan_id, number)
    if item.plan.kind != PlanKind.onsite:
        abort(404)
    return send_file(card_pdf(item), mimetype="application/pdf", download_name=f"{item.plan.title}-应急处置卡.pdf")
