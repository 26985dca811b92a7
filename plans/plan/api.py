"""/api/v1: plans, their versions and sections, review, publication, revision and the plan PDF."""
from __future__ import annotations

from flask import send_file
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields

from emergency.access import record_for
from emergency.api import api_user, token_required
from emergency.auth.models import Role
from emergency.extensions import db
from emergency.organisations.api import SelectPage
from emergency.organisations.models import Enterprise

from . import operations
from .models import Plan, PlanVersion
from .pdf import plan_pdf
from .queries import plan_select, version_for
from .schemas import (
    DraftInput,
    PlanInput,
    PlanQuery,
    PlanSchema,
    PublishInput,
    ReviewInput,
    ReviewSchema,
    RevisionInput,
    SectionInput,
    SectionSchema,
    VersionSchema,
)

blp = Blueprint("plans_api", __name__, url_prefix="/api/v1",
                description="Emergency plans: drafts, sections, expert review, publication, revisions")
BEARER = [{"bearerAuth": []}]
PDF_SCHEMA = {"type": "string", "format": "binary"}
#: Plans are written by the enterprise itself and, for it, by the bureau's officers.
WRITERS = (Role.admin, Role.officer, Role.enterprise)
INVALID = "Invalid fields or a rule of the plan system (problem details)"


class PlanCreateInput(PlanInput):
    #: The enterprise (officers; an enterprise token always writes its own enterprise's plans).
    enterprise_id = fields.Integer(allow_none=True, load_default=None)


def _plan(plan_id: int, *, edit: bool = False) -> Plan:
    return record_for(api_user(), Plan, plan_id, edit=edit)


def _version(plan_id: int, number: int, *, edit: bool = False) -> PlanVersion:
    return version_for(api_user(), plan_id, number, edit=edit)


def _enterprise_for(data: dict) -> Enterprise:
    user = api_user()
    enterprise_id = user.enterprise_id if user.role == Role.enterprise else data.get("enterprise_id")
    if enterprise_id is None:
        raise ValidationError({"enterprise_id": [_("Choose the enterprise.")]})
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise ValidationError({"enterprise_id": [_("No such enterprise.")]})
    return enterprise


@blp.route("/plans")
class Plans(MethodView):
    @token_required()
    @blp.arguments(PlanQuery, location="query")
    @blp.response(200, PlanSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=200)
    @blp.doc(security=BEARER)
    def get(self, params):
        """Active plans the caller may see (an enterprise token: its own enterprise's).

        Pagination is in the `X-Pagination` header.
        """
        return plan_select(api_user(), params)

    @token_required(*WRITERS)
    @blp.arguments(PlanCreateInput)
    @blp.response(201, PlanSchema)
    @blp.alt_response(422, description=INVALID)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Create a plan; its first draft is laid out on the GB/T 29639-2020 outline for its kind.

        Officers name `enterprise_id`; an enterprise token always creates its own enterprise's plan.
        """
        enterprise = _enterprise_for(data)
        fields_ = {k: v for k, v in data.items() if k != "enterprise_id"}
        plan = operations.create_plan(api_user(), enterprise, fields_)
        db.session.commit()
        return plan


@blp.route("/plans/<int:plan_id>")
class PlanById(MethodView):
    @token_required()
    @blp.response(200, PlanSchema)
    @blp.doc(security=BEARER)
    def get(self, plan_id: int):
        """A plan, with the number of its version in force and of its draft."""
        return _plan(plan_id)


@blp.route("/plans/<int:plan_id>/versions")
class Versions(MethodView):
    @token_required()
    @blp.response(200, VersionSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, plan_id: int):
        """Every version of a plan, oldest first, with sections, reviews and attachments."""
        return list(_plan(plan_id).versions)


@blp.route("/plans/<int:plan_id>/revisions")
class Revisions(MethodView):
    @token_required(*WRITERS)
    @blp.arguments(RevisionInput)
    @blp.response(201, VersionSchema)
    @blp.alt_response(422, description=INVALID)
    @blp.doc(security=BEARER)
    def post(self, data, plan_id: int):
        """Start a revision: a new draft copied from the version in force, with its statutory trigger."""
        version = operations.start_revision(api_user(), _plan(plan_id, edit=True), data)
        db.session.commit()
        return version


@blp.route("/plans/<int:plan_id>/versions/<int:number>")
class VersionByNumber(MethodView):
    @token_required()
    @blp.response(200, VersionSchema)
    @blp.doc(security=BEARER)
    def get(self, plan_id: int, number: int):
        """One version of a plan."""
        return _version(plan_id, number)

    @token_required(*WRITERS)
    @blp.arguments(DraftInput(partial=True))
    @blp.response(200, VersionSchema)
    @blp.alt_response(422, description=INVALID)
    @blp.doc(security=BEARER)
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
@blp.doc(security=BEARER)
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
@blp.doc(security=BEARER)
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
@blp.doc(security=BEARER)
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
@blp.doc(security=BEARER)
def version_pdf(plan_id: int, number: int):
    """The plan document as a PDF: cover, sections in order, appendix list."""
    version = _version(plan_id, number)
    return send_file(plan_pdf(version), mimetype="application/pdf",
                     download_name=f"{version.plan.title}-v{version.number}.pdf")
