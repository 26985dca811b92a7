"""/api/v1/audit: the audit trail, read-only."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from emergency.core.api import api_user, token_required
from emergency.organisations.api import SelectPage
from emergency.audit.queries import audit_select
from emergency.audit.schemas import AuditEntrySchema, AuditQuery

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1", description="The append-only audit trail")


@blp.route("/audit")
class Audit(MethodView):
    @token_required()
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=500)
    def get(self, params):
        """Audit entries, newest first; enterprise users see their own enterprise's entries."""
        return audit_select(api_user(), params)
