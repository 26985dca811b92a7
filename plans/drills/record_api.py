"""/api/v1: drill records, their evaluations, corrective actions and spot checks."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema

from emergency.core.access import WRITERS, record_for, scope_to_user
from emergency.core.api import api_user, token_required
from emergency.organisations.operations import enterprise_for
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations.api import SelectPage

from plans.drills import actions, records
from plans.drills.models import CorrectiveAction, Drill, SpotCheck
from plans.drills.record_schemas import (
    ActionChangeInput,
    ActionQuery,
    ActionSchema,
    AnswerInput,
    DrillCreateInput,
    DrillEvaluationInput,
    DrillEvaluationSchema,
    DrillFileSchema,
    DrillInput,
    DrillQuery,
    DrillSchema,
    RevisionStartInput,
    SpotCheckInput,
    SpotCheckSchema,
)

blp = Blueprint("drills_api", __name__, url_prefix="/api/v1",
                description="Drill records, their evaluations, corrective actions and spot checks")
CHECKERS = (Role.admin, Role.officer)
INVALID = "Invalid fields or a rule of drill records (problem details)"


@blp.route("/drills")
class Drills(MethodView):
    @token_required()
    @blp.arguments(DrillQuery, location="query")
    @blp.response(200, DrillSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=200)
    def get(self, params):
        """Drill records the caller may see (an enterprise token: its own), newest first.

        Filters: `enterprise_id`, `township_id`, `form`, `reported`, `since`/`until` (local dates).
        Pagination is in the `X-Pagination` header.
        """
        return actions.drill_select(api_user(), params)

    @token_required(*WRITERS)
    @blp.arguments(DrillCreateInput)
    @blp.response(201, DrillSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data):
        """Record a drill (AQ/T 9007-2019) and match it to the occurrences it fulfils.

        `started_at` without an offset is Asia/Shanghai time. A drill of a new plan's draft opens
        that draft's publication gate. Drills of high-risk enterprises and crowded places are
        reported to the bureau as they are recorded.
        """
        enterprise = enterprise_for(api_user(), data)
        drill = records.record_drill(api_user(), enterprise, {k: v for k, v in data.items() if k != "enterprise_id"})
        db.session.commit()
        return drill


@blp.route("/drills/<int:drill_id>")
class DrillById(MethodView):
    @token_required()
    @blp.response(200, DrillSchema)
    def get(self, drill_id: int):
        """A drill record with its files and spot checks."""
        return record_for(api_user(), Drill, drill_id)

    @token_required(*WRITERS)
    @blp.arguments(DrillInput(partial=True))
    @blp.response(200, DrillSchema)
    @blp.alt_response(422, description=INVALID)
    def patch(self, data, drill_id: int):
        """Correct a drill record; the audit trail keeps what it said before (records are never deleted)."""
        drill = record_for(api_user(), Drill, drill_id, edit=True)
        records.update_drill(api_user(), drill, data)
        db.session.commit()
        return drill


class FileUpload(Schema):
    file = Upload(required=True, metadata={"description": "A photo (JPG, PNG) or a document (PDF, DOCX)"})


@blp.route("/drills/<int:drill_id>/files", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(FileUpload, location="files")
@blp.response(201, DrillFileSchema)
@blp.alt_response(422, description=INVALID)
def add_file(data, drill_id: int):
    """Attach a photo or document to a drill (multipart field `file`), checked by its content."""
    drill = record_for(api_user(), Drill, drill_id, edit=True)
    upload = data["file"]
    row = records.add_file(api_user(), drill, upload.filename or "", upload.read())
    db.session.commit()
    return row


@blp.route("/drills/<int:drill_id>/evaluation")
class DrillEvaluationById(MethodView):
    @token_required()
    @blp.response(200, DrillEvaluationSchema)
    def get(self, drill_id: int):
        """The drill's evaluation (AQ/T 9009) with its corrective actions (404 before it is recorded)."""
        drill = record_for(api_user(), Drill, drill_id)
        if drill.evaluation is None:
            from flask import abort

            abort(404, description=_("The drill has not been evaluated yet."))
        return drill.evaluation

    @token_required(*WRITERS)
    @blp.arguments(DrillEvaluationInput)
    @blp.response(200, DrillEvaluationSchema)
    @blp.alt_response(422, description=INVALID)
    def put(self, data, drill_id: int):
        """Record or correct the evaluation. Each item of `problems` becomes a corrective action
        (existing actions are kept); `revise_plan_id` starts a revision of that plan with the
        statutory trigger `found_in_response`."""
        drill = record_for(api_user(), Drill, drill_id, edit=True)
        evaluation = records.save_evaluation(api_user(), drill, data)
        db.session.commit()
        return evaluation


@blp.route("/corrective-actions")
class Actions(MethodView):
    @token_required()
    @blp.arguments(ActionQuery, location="query")
    @blp.response(200, ActionSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=200)
    def get(self, params):
        """Corrective actions the caller may see, by due date. Filters: `status`, `overdue`
        (open and past due), `enterprise_id`, `township_id`, `drill_id`."""
        return scope_to_user(actions.action_select(params), api_user(), CorrectiveAction.enterprise_id)


@blp.route("/corrective-actions/<int:action_id>")
class ActionById(MethodView):
    @token_required()
    @blp.response(200, ActionSchema)
    def get(self, action_id: int):
        """One corrective action."""
        return record_for(api_user(), CorrectiveAction, action_id)

    @token_required(*WRITERS)
    @blp.arguments(ActionChangeInput)
    @blp.response(200, ActionSchema)
    @blp.alt_response(422, description=INVALID)
    def patch(self, data, action_id: int):
        """Move the action along: open → done (with `evidence`), done → verified (the enterprise's
        manager or an officer), or done → open with a `note` (sent back). Other moves: 422."""
        action = record_for(api_user(), CorrectiveAction, action_id, edit=True)
        actions.change_status(api_user(), action, data)
        db.session.commit()
        return action


@blp.route("/corrective-actions/<int:action_id>/revision", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(RevisionStartInput)
@blp.response(201, ActionSchema)
@blp.alt_response(422, description=INVALID)
def start_revision(data, action_id: int):
    """Start a revision of the enterprise's plan for this problem (trigger `found_in_response`);
    the action links the new draft (`revision_version_id`)."""
    action = record_for(api_user(), CorrectiveAction, action_id, edit=True)
    actions.start_revision(api_user(), action, data["plan_id"], data.get("revision_note") or "")
    db.session.commit()
    return action


@blp.route("/spot-checks", methods=["GET"])
@token_required()
@blp.response(200, SpotCheckSchema(many=True))
def spot_checks():
    """Spot checks the caller may see, newest first."""
    query = scope_to_user(sa.select(SpotCheck), api_user(), SpotCheck.enterprise_id)
    return db.session.scalars(query.order_by(SpotCheck.id.desc()).limit(500)).all()


@blp.route("/drills/<int:drill_id>/spot-checks", methods=["POST"])
@token_required(*CHECKERS)
@blp.arguments(SpotCheckInput)
@blp.response(201, SpotCheckSchema)
@blp.alt_response(422, description=INVALID)
def spot_check(data, drill_id: int):
    """Spot-check a reported drill; a result `short` orders a correction by `correction_due`."""
    check = actions.spot_check(api_user(), record_for(api_user(), Drill, drill_id, edit=True), data)
    db.session.commit()
    return check


@blp.route("/spot-checks/<int:check_id>/answer", methods=["POST"])
@token_required(*WRITERS)
@blp.arguments(AnswerInput)
@blp.response(200, SpotCheckSchema)
@blp.alt_response(422, description=INVALID)
def answer(data, check_id: int):
    """The enterprise answers an ordered correction."""
    check = actions.answer_spot_check(api_user(), record_for(api_user(), SpotCheck, check_id, edit=True),
                                      data["response"])
    db.session.commit()
    return check


@blp.route("/spot-checks/<int:check_id>/close", methods=["POST"])
@token_required(*CHECKERS)
@blp.response(200, SpotCheckSchema)
@blp.alt_response(422, description=INVALID)
def close(check_id: int):
    """The officer accepts the answer and closes the spot check (its correction is verified)."""
    check = actions.close_spot_check(api_user(), record_for(api_user(), SpotCheck, check_id, edit=True))
    db.session.commit()
    return check
