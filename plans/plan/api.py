"""/api/v1: plans, their versions and sections, attachments, Word import, review, publication,
revision, comparison, evaluation, the plan PDF and the emergency card."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, send_file
from flask.views import MethodView
from flask_babel import gettext as _
from marshmallow import ValidationError, fields

from emergency.core import files
from emergency.core.access import WRITERS, record_for
from emergency.core.api import UploadBlueprint as Blueprint
from emergency.core.api import api_user, token_required
from emergency.organisations.operations import enterprise_for
from emergency.core.extensions import db
from emergency.organisations.api import SelectPage

from plans.plan import imports, operations
from plans.plan.comparison import compare as compare_versions
from plans.plan.models import (
    Attachment,
    Evaluation,
    ImportJob,
    Plan,
    PlanKind,
    PlanSection,
    PlanVersion,
)
from plans.plan.pdf import card_pdf, plan_pdf
from plans.plan.queries import plan_select, version_for
from plans.plan.schemas import (
    AttachmentInput,
    AttachmentSchema,
    CompareQuery,
    ComparisonSchema,
    DraftInput,
    EvaluationInput,
    EvaluationSchema,
    ImportInput,
    ImportSchema,
    PlanInput,
    PlanQuery,
    PlanSchema,
    PublishInput,
    ReviewInput,
    ReviewSchema,
    RevisionInput,
    SectionChangeInput,
    SectionInput,
    SectionMoveInput,
    SectionSchema,
    VersionSchema,
)

blp = Blueprint("plans_api", __name__, url_prefix="/api/v1",
                description="Emergency plans: drafts, sections, expert review, publication, revisions")
PDF_SCHEMA = {"type": "string", "format": "binary"}
INVALID = "Invalid fields or a rule of the plan system (problem details)"


class PlanCreateInput(PlanInput):
    #: The enterprise (officers; an enterprise token always writes its own enterprise's plans).
    enterprise_id = fields.Integer(allow_none=True, load_default=None)


def _plan(plan_id: int, *, edit: bool = False) -> Plan:
    return record_for(api_user(), Plan, plan_id, edit=edit)


def _version(plan_id: int, number: int, *, edit: bool = False) -> PlanVersion:
    return version_for(api_user(), plan_id, number, edit=edit)


def _section(version: PlanVersion, section_id: int) -> PlanSection:
    section = next((s for s in version.sections if s.id == section_id), None)
    if section is None:
        abort(404)
    return section


@blp.route("/plans")
class Plans(MethodView):
    @token_required()
    @blp.arguments(PlanQuery, location="query")
    @blp.response(200, PlanSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=200)
    def get(self, params):
        """Active plans the caller may see (an enterprise token: its own enterprise's).

        Pagination is in the `X-Pagination` header.
        """
        return plan_select(api_user(), params)

    @token_required(*WRITERS)
    @blp.arguments(PlanCreateInput)
    @blp.response(201, PlanSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data):
        """Create a plan; its first draft is laid out on the GB/T 29639-2020 outline for its kind.

        Officers name `enterprise_id`; an enterprise token always creates its own enterprise's plan.
        """
        enterprise = enterprise_for(api_user(), data)
        fields_ = {k: v for k, v in data.items() if k != "enterprise_id"}
        plan = operations.create_plan(api_user(), enterprise, fields_)
        db.session.commit()
        return plan


@blp.route("/plans/<int:plan_id>")
class PlanById(MethodView):
    @token_required()
    @blp.response(200, PlanSchema)
    def get(self, plan_id: int):
        """A plan, with the number of its version in force and of its draft."""
        return _plan(plan_id)


@blp.route("/plans/<int:plan_id>/versions")
class Versions(MethodView):
    @token_required()
    @blp.response(200, VersionSchema(many=True))
    def get(self, plan_id: int):
        """Every version of a plan, oldest first, with sections, reviews and attachments."""
        return list(_plan(plan_id).versions)


@blp.route("/plans/<int:plan_id>/revisions")
class Revisions(MethodView):
    @token_required(*WRITERS)
    @blp.arguments(RevisionInput)
    @blp.response(201, VersionSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data, plan_id: int):
        """Start a revision: a new draft copied from the version in force, with its statutory trigger."""
        version = operations.start_revision(api_user(), _plan(plan_id, edit=True), data)
        db.session.commit()
        return version


@blp.route("/plans/<int:plan_id>/versions/<int:number>")
class VersionByNumber(MethodView):
    @token_required()
    @blp.response(200, VersionSchema)
    def get(self, plan_id: int, number: int):
        """One version of a plan."""
        return _version(plan_id, number)

    @token_required(*WRITERS)
    @blp.arguments(DraftInput(partial=True))
    @blp.response(200, VersionSchema)
    @blp.alt_response(422, description=INVALID)
    def patch(self, data, plan_id: int, number: int):
        """Change some structured fields of a draft (a published version never changes: 422)."""
        version = _version(plan_id, number, edit=True)
        operations.update_draft(api_user(), version, data)
        db.session.commit()
        return version


@blp.route("/plans/<int:plan_id>/versions/<int:number>/sections", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(SectionInput)
@blp.response(201, SectionSchema)
@blp.alt_response(422, description=INVALID)
def add_section(data, plan_id: int, number: int):
    """Add a section to a draft (at `position`, or last); its text is reduced to the safe subset."""
    section = operations.save_section(api_user(), _version(plan_id, number, edit=True), data)
    db.session.commit()
    return section


@blp.route("/plans/<int:plan_id>/versions/<int:number>/review", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(ReviewInput)
@blp.response(201, ReviewSchema)
@blp.alt_response(422, description=INVALID)
def record_review(data, plan_id: int, number: int):
    """Record the expert review of a draft (every expert declares no conflict of interest)."""
    review = operations.record_review(api_user(), _version(plan_id, number, edit=True), data)
    db.session.commit()
    return review


@blp.route("/plans/<int:plan_id>/versions/<int:number>/publish", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(PublishInput)
@blp.response(200, VersionSchema)
@blp.alt_response(422, description=INVALID)
def publish(data, plan_id: int, number: int):
    """Sign and publish a draft: it becomes the version in force and can no longer change.

    A filing is opened when the enterprise files its plans and this is the first version or one
    whose key parts changed. Everything that blocks publication is named at once (422).
    """
    version = operations.publish(api_user(), _version(plan_id, number, edit=True), data)
    db.session.commit()
    return version


@blp.route("/plans/<int:plan_id>/versions/<int:number>/pdf", methods=["GET"])
@token_required()
@blp.response(200, PDF_SCHEMA, description="The plan document", content_type="application/pdf")
def version_pdf(plan_id: int, number: int):
    """The plan document as a PDF: cover, sections in order, appendix list."""
    version = _version(plan_id, number)
    return send_file(plan_pdf(version), mimetype="application/pdf",
                     download_name=f"{version.plan.title}-v{version.number}.pdf")


@blp.route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>")
class SectionById(MethodView):
    @token_required(*WRITERS)
    @blp.arguments(SectionChangeInput(partial=True))
    @blp.response(200, SectionSchema)
    @blp.alt_response(422, description=INVALID)
    def patch(self, data, plan_id: int, number: int, section_id: int):
        """Change a section of a draft (title, level, body, key part); a published one never changes (422)."""
        version = _version(plan_id, number, edit=True)
        section = operations.save_section(api_user(), version, data, _section(version, section_id))
        db.session.commit()
        return section

    @token_required(*WRITERS)
    @blp.response(204)
    @blp.alt_response(422, description=INVALID)
    def delete(self, plan_id: int, number: int, section_id: int):
        """Delete a section of a draft; the later ones move up."""
        version = _version(plan_id, number, edit=True)
        operations.delete_section(api_user(), version, _section(version, section_id))
        db.session.commit()


@blp.route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>/move", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(SectionMoveInput)
@blp.response(200, SectionSchema(many=True))
@blp.alt_response(422, description=INVALID)
def move_section(data, plan_id: int, number: int, section_id: int):
    """Move a section of a draft one place `up` or `down`, or to `position`; returns the sections in order."""
    version = _version(plan_id, number, edit=True)
    section = _section(version, section_id)
    if "direction" in data:
        step = -1 if data["direction"] == "up" else 1
    else:
        step = data["position"] - section.position
    operations.move_section(api_user(), version, section, step)
    db.session.commit()
    return list(version.sections)


# --- attachments ------------------------------------------------------------------------------

@blp.route("/plans/<int:plan_id>/versions/<int:number>/attachments")
class Attachments(MethodView):
    @token_required()
    @blp.response(200, AttachmentSchema(many=True))
    def get(self, plan_id: int, number: int):
        """The files attached to a version."""
        return list(_version(plan_id, number).attachments)

    @token_required(*WRITERS)
    @blp.arguments(AttachmentInput, location="multipart")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data, plan_id: int, number: int):
        """Attach a file (multipart/form-data: `kind` and `file`).

        PDF, Word, Excel, JPEG or PNG, checked by content: a file whose bytes are not what its
        name says is refused (422 naming `file`). Files may also be attached to a published
        version (filing materials arrive later).
        """
        version = _version(plan_id, number, edit=True)
        file = data["file"]
        attachment = operations.add_attachment(api_user(), version, data["kind"], file.filename or "", file.read())
        db.session.commit()
        return attachment


@blp.route("/attachments/<int:attachment_id>")
class AttachmentById(MethodView):
    @token_required()
    @blp.response(200, {"type": "string", "format": "binary"}, description="The file as uploaded",
                  content_type="application/octet-stream")
    def get(self, attachment_id: int):
        """Download an attached file."""
        attachment = record_for(api_user(), Attachment, attachment_id)
        return send_file(files.path_for(attachment.sha256), mimetype=files.MIME_TYPES[attachment.file_type],
                         as_attachment=True, download_name=files.safe_name(attachment.filename))

    @token_required(*WRITERS)
    @blp.response(204)
    @blp.alt_response(422, description=INVALID)
    def delete(self, attachment_id: int):
        """Remove a file from a draft (never from a published version: 422)."""
        operations.remove_attachment(api_user(), record_for(api_user(), Attachment, attachment_id, edit=True))
        db.session.commit()


# --- Word import ------------------------------------------------------------------------------

@blp.route("/plans/<int:plan_id>/versions/<int:number>/import", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(ImportInput, location="multipart")
@blp.response(200, ImportSchema, description="A small file, read at once")
@blp.alt_response(202, schema=ImportSchema, description="A large file, queued for the worker")
@blp.alt_response(422, description=INVALID)
def import_word(data, plan_id: int, number: int):
    """Import a Word document (.docx, multipart/form-data) as a draft's sections.

    Without `confirm` (a preview) the sections found are returned and nothing changes; with
    `confirm=true` they replace the draft's sections. Headings of level 1–3 start sections.
    A file of up to `DOCX_IMPORT_INLINE_PARAGRAPHS` paragraphs (1,000) is read at once (200);
    a larger one becomes a job for the worker (202): follow it at
    `GET /plans/{plan_id}/versions/{number}/imports/{job_id}`, then save a preview with
    `POST …/imports/{job_id}/confirm` (with `confirm=true` the worker saves it itself). A file
    over the import limits (paragraphs, tables, table cells, unpacked XML) is refused (422, `file`).
    """
    version = _version(plan_id, number, edit=True)
    file = data["file"]
    job = imports.start(api_user(), version, file.filename or "document.docx", file.read(), apply=data["confirm"])
    db.session.commit()  # enqueues a large file
    return job, (202 if job.pending else 200)


def _import_job(plan_id: int, number: int, job_id: int) -> ImportJob:
    version = _version(plan_id, number, edit=True)
    job = db.session.get(ImportJob, job_id)
    if job is None or job.version_id != version.id:
        abort(404)
    return job


@blp.route("/plans/<int:plan_id>/versions/<int:number>/imports/<int:job_id>")
@token_required(*WRITERS)
@blp.response(200, ImportSchema)
def import_job(plan_id: int, number: int, job_id: int):
    """A Word import job: its status and progress, and the sections once read."""
    return _import_job(plan_id, number, job_id)


@blp.route("/plans/<int:plan_id>/versions/<int:number>/imports/<int:job_id>/confirm", methods=["POST"])
@token_required(*WRITERS)
@blp.response(200, ImportSchema)
@blp.alt_response(422, description=INVALID)
def confirm_import(plan_id: int, number: int, job_id: int):
    """Replace the draft's sections with those a finished import job found (422 `job` before that)."""
    job = imports.confirm(api_user(), _import_job(plan_id, number, job_id))
    db.session.commit()
    return job


# --- evaluation, comparison, the emergency card -----------------------------------------------

@blp.route("/plans/<int:plan_id>/evaluations")
class Evaluations(MethodView):
    @token_required()
    @blp.response(200, EvaluationSchema(many=True))
    def get(self, plan_id: int):
        """The plan's evaluations, newest first (the next one due is the plan's `evaluation_due`)."""
        plan = _plan(plan_id)
        return db.session.scalars(sa.select(Evaluation).where(Evaluation.plan_id == plan.id)
                                  .order_by(Evaluation.evaluated_on.desc(), Evaluation.id.desc())).all()

    @token_required(*WRITERS)
    @blp.arguments(EvaluationInput)
    @blp.response(201, EvaluationSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data, plan_id: int):
        """Record an evaluation of a published plan (at least every three years for enterprises that must)."""
        evaluation = operations.record_evaluation(api_user(), _plan(plan_id, edit=True), data)
        db.session.commit()
        return evaluation


@blp.route("/plans/<int:plan_id>/compare", methods=["GET"])
@token_required()
@blp.arguments(CompareQuery, location="query")
@blp.response(200, ComparisonSchema)
@blp.alt_response(422, description=INVALID)
def compare(params, plan_id: int):
    """Two versions section by section (default: the last two), the key parts that changed and
    whether publishing the later one means filing again."""
    plan = _plan(plan_id)
    numbers = [v.number for v in plan.versions]
    if len(numbers) < 2 and not params:
        raise ValidationError({"from": [_("There is only one version.")]})
    by_number = {v.number: v for v in plan.versions}
    old = by_number.get(params.get("from_", numbers[-2] if len(numbers) > 1 else numbers[0]))
    new = by_number.get(params.get("to", numbers[-1]))
    if old is None or new is None:
        abort(404)
    return compare_versions(old, new)


@blp.route("/plans/<int:plan_id>/versions/<int:number>/card.pdf", methods=["GET"])
@token_required()
@blp.response(200, PDF_SCHEMA, description="The emergency card", content_type="application/pdf")
def card(plan_id: int, number: int):
    """The emergency card (应急处置卡) of an on-site disposal plan: one A5 page (404 for other kinds)."""
    version = _version(plan_id, number)
    if version.plan.kind != PlanKind.onsite:
        abort(404)
    return send_file(card_pdf(version), mimetype="application/pdf",
                     download_name=f"{version.plan.title}-应急处置卡.pdf")
