"""/api/v1: drill cycles (presets and custom recurrences) and their occurrences."""
from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import ValidationError

from emergency.core.access import WRITERS, record_for
from emergency.core.api import api_user, token_required
from emergency.organisations.operations import enterprise_for
from emergency.core.extensions import db
from emergency.organisations.api import SelectPage
from emergency.core.timeutil import local_today

from plans.drills import cycles as cycle_ops
from plans.drills import occurrences as occurrence_ops
from plans.drills.models import DrillCycle, Occurrence
from plans.drills.queries import cycle_select, occurrence_select
from plans.drills.schemas import (
    CycleCreateInput,
    CycleQuery,
    CycleSchema,
    CycleUpdateInput,
    ExcuseInput,
    OccurrenceQuery,
    OccurrenceSchema,
)

blp = Blueprint("drill_cycles_api", __name__, url_prefix="/api/v1",
                description="Drill cycles (presets and custom recurrences) and occurrences with their status")
INVALID = "Invalid fields or a rule of drill cycles (problem details)"


@blp.route("/drill-cycles")
class Cycles(MethodView):
    @token_required()
    @blp.arguments(CycleQuery, location="query")
    @blp.response(200, CycleSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=200)
    def get(self, params):
        """Drill cycles the caller may see (an enterprise token: its own). Pagination in `X-Pagination`."""
        return cycle_select(api_user(), params)

    @token_required(*WRITERS)
    @blp.arguments(CycleCreateInput)
    @blp.response(201, CycleSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data):
        """Create a cycle. `preset` (weekly_small, monthly_large, quarterly_check) fills the rule, time,
        duration, window and lead time not given; `custom` needs `rule`. Occurrences are laid out at once.
        Officers name `enterprise_id`."""
        enterprise = enterprise_for(api_user(), data)
        data.pop("enterprise_id", None)
        cycle = cycle_ops.create_cycle(api_user(), enterprise, data)
        db.session.commit()
        return cycle


@blp.route("/drill-cycles/<int:cycle_id>")
class CycleById(MethodView):
    @token_required()
    @blp.response(200, CycleSchema)
    def get(self, cycle_id: int):
        """A drill cycle."""
        return record_for(api_user(), DrillCycle, cycle_id)

    @token_required(*WRITERS)
    @blp.arguments(CycleUpdateInput(partial=True))
    @blp.response(200, CycleSchema)
    @blp.alt_response(422, description=INVALID)
    def patch(self, data, cycle_id: int):
        """Change a cycle: its occurrences from today on follow; past, done and excused ones stay."""
        cycle = record_for(api_user(), DrillCycle, cycle_id, edit=True)
        if not cycle.active:
            raise ValidationError({"cycle": [_("A stopped cycle cannot be changed.")]})
        data.pop("enterprise_id", None)
        cycle_ops.update_cycle(api_user(), cycle, data)
        db.session.commit()
        return cycle

    @token_required(*WRITERS)
    @blp.response(200, CycleSchema)
    def delete(self, cycle_id: int):
        """Stop a cycle: its future occurrences go; the cycle and its history stay (nothing is deleted)."""
        cycle = record_for(api_user(), DrillCycle, cycle_id, edit=True)
        if cycle.active:
            cycle_ops.stop_cycle(api_user(), cycle)
            db.session.commit()
        return cycle


@blp.route("/occurrences")
class Occurrences(MethodView):
    @token_required()
    @blp.arguments(OccurrenceQuery, location="query")
    @blp.response(200, OccurrenceSchema(many=True))
    @blp.paginate(SelectPage, page_size=100, max_page_size=500)
    def get(self, params):
        """Occurrences of cycles and statutory obligations, filtered by status (upcoming, due, done,
        overdue, excused; repeat the parameter for several), enterprise, township, industry, cycle,
        obligation and planned day (`from`, `to`)."""
        return occurrence_select(api_user(), params, local_today())


@blp.route("/occurrences/<int:occurrence_id>")
class OccurrenceById(MethodView):
    @token_required()
    @blp.response(200, OccurrenceSchema)
    def get(self, occurrence_id: int):
        """An occurrence with its status."""
        return record_for(api_user(), Occurrence, occurrence_id)


@blp.route("/occurrences/<int:occurrence_id>/excuse")
class OccurrenceExcuse(MethodView):
    @token_required(*WRITERS)
    @blp.arguments(ExcuseInput)
    @blp.response(200, OccurrenceSchema)
    @blp.alt_response(422, description=INVALID)
    def post(self, data, occurrence_id: int):
        """Excuse an occurrence with a reason (kept with who excused it). Statutory occurrences
        only an officer may excuse."""
        occurrence = record_for(api_user(), Occurrence, occurrence_id, edit=True)
        occurrence_ops.excuse(api_user(), occurrence, data["reason"])
        db.session.commit()
        return occurrence
