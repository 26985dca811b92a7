"""/api/v1: filings (备案): the list, submission with the statutory materials, the bureau's
decision and the registration form."""
from __future__ import annotations

from flask import abort, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from emergency.core.access import EDITORS, WRITERS, record_for
from emergency.core.api import api_user, token_required
from emergency.core.extensions import db
from emergency.organisations.api import SelectPage

from plans.filing import operations
from plans.filing.models import Filing
from plans.filing.pdf import form_pdf
from plans.filing.queries import filing_select
from plans.filing.schemas import FilingQuery, FilingSchema, ReturnInput, SubmitInput

blp = Blueprint("filings_api", __name__, url_prefix="/api/v1",
                description="Filing of published plans: submission, acceptance or return, the registration form")
PDF_SCHEMA = {"type": "string", "format": "binary"}
INVALID = "Invalid fields or a rule of filing (problem details)"


def _filing(filing_id: int, *, edit: bool = False) -> Filing:
    return record_for(api_user(), Filing, filing_id, edit=edit)


@blp.route("/filings")
class Filings(MethodView):
    @token_required()
    @blp.arguments(FilingQuery, location="query")
    @blp.response(200, FilingSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=200)
    def get(self, params):
        """Filings, newest first (officers: all; an enterprise token: its own enterprise's).

        `overdue=true`: not (re)submitted and past the 20-working-day deadline. Pagination is in
        the `X-Pagination` header.
        """
        return filing_select(api_user(), params)


@blp.route("/filings/<int:filing_id>")
class FilingById(MethodView):
    @token_required()
    @blp.response(200, FilingSchema)
    def get(self, filing_id: int):
        """A filing with its materials, working days left and history."""
        return _filing(filing_id)


@blp.route("/filings/<int:filing_id>/submit", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(SubmitInput)
@blp.response(200, FilingSchema)
@blp.alt_response(422, description=INVALID)
def submit(data, filing_id: int):
    """Submit (or resubmit after a return); every missing material is named at once (422)."""
    filing = operations.submit(api_user(), _filing(filing_id, edit=True), data)
    db.session.commit()
    return filing


@blp.route("/filings/<int:filing_id>/accept", methods=["POST"])
@token_required(*EDITORS)
@blp.response(200, FilingSchema)
@blp.alt_response(422, description=INVALID)
def accept(filing_id: int):
    """Accept a submitted filing (officers): it gets its filing number; the enterprise is told by SMS."""
    filing = operations.accept(api_user(), _filing(filing_id))
    db.session.commit()
    return filing


@blp.route("/filings/<int:filing_id>/return", methods=["POST"])
@token_required(*EDITORS)
@blp.arguments(ReturnInput)
@blp.response(200, FilingSchema)
@blp.alt_response(422, description=INVALID)
def return_filing(data, filing_id: int):
    """Return a submitted filing (officers), naming every missing or wrong item at once."""
    filing = operations.return_filing(api_user(), _filing(filing_id), data["items"], data["note"])
    db.session.commit()
    return filing


@blp.route("/filings/<int:filing_id>/form.pdf", methods=["GET"])
@token_required()
@blp.response(200, PDF_SCHEMA, description="The filing registration form", content_type="application/pdf")
def form(filing_id: int):
    """The registration form (应急预案备案登记表) of a filed plan (404 until it is filed)."""
    filing = _filing(filing_id)
    if not filing.filed:
        abort(404)
    return send_file(form_pdf(filing), mimetype="application/pdf",
                     download_name=f"备案登记表-{filing.number}.pdf")
