"""Schemas for drill records, evaluations, corrective actions and spot checks (pages and API)."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from emergency.core.timeutil import SHANGHAI, utcnow
from emergency.core.validation import BaseSchema, FormSchema, Mobile, text

from plans.drills.models import (
    DRILL_CONTENTS,
    DRILL_FORMS,
    DRILL_PURPOSES,
    RATINGS,
    SPOT_CHECK_RESULTS,
)

#: A drill record is of a drill that happened (a few minutes of clock difference are allowed).
CLOCK_SLACK = timedelta(minutes=10)


def _happened(value) -> bool:
    if value > utcnow() + CLOCK_SLACK:
        raise ValidationError(_("A drill is recorded after it took place: the time is in the future."))
    return True


def _names(max_items: int = 200):
    return fields.List(text(100), load_default=list, validate=validate.Length(max=max_items))


class DrillInput(BaseSchema):
    """A drill record after AQ/T 9007-2019 (load with ``partial=True`` for a correction)."""

    title = text(200)
    #: Local (Asia/Shanghai) time unless an offset is given; kept in UTC.
    started_at = fields.AwareDateTime(required=True, default_timezone=SHANGHAI, validate=lambda value: _happened(value))
    duration_minutes = fields.Integer(required=True, validate=validate.Range(5, 7 * 24 * 60))
    form = fields.String(required=True, validate=validate.OneOf(list(DRILL_FORMS)))
    content = fields.String(required=True, validate=validate.OneOf(list(DRILL_CONTENTS)))
    purpose = fields.String(required=True, validate=validate.OneOf(list(DRILL_PURPOSES)))
    scenario = text(5000, required=False, load_default="")
    location = text(200, required=False, load_default="")
    organiser = text(100, required=False, load_default="")
    participant_count = fields.Integer(load_default=0, validate=validate.Range(0, 100_000))
    participants = _names()
    observers = _names()
    #: Published versions, or a new plan's draft (a drill of the draft opens the publication gate).
    version_ids = fields.List(fields.Integer(), load_default=list, validate=validate.Length(max=50))
    cycle_id = fields.Integer(allow_none=True, load_default=None)
    #: The occurrences it fulfils; left out, they are matched automatically.
    occurrence_ids = fields.List(fields.Integer(), validate=validate.Length(max=50))

    @validates_schema
    def _count(self, data, **_kwargs):
        if data.get("participant_count") and data.get("participants") and \
                data["participant_count"] < len(data["participants"]):
            raise ValidationError({"participant_count": [_("Fewer people than named participants.")]})


class DrillCreateInput(DrillInput):
    #: Officers name the enterprise; an enterprise user always records its own drills.
    enterprise_id = fields.Integer(allow_none=True, load_default=None)


class DrillForm(DrillCreateInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass

    @pre_load
    def lists(self, data, **_kwargs):
        data = dict(data)
        for name in ("version_ids", "occurrence_ids"):
            value = data.get(name)
            if value is not None and not isinstance(value, list):
                data[name] = [value]
        return data


class DrillQuery(BaseSchema):
    enterprise_id = fields.Integer()
    township_id = fields.Integer()
    form = fields.String(validate=validate.OneOf(list(DRILL_FORMS)))
    reported = fields.Boolean()
    since = fields.Date()
    until = fields.Date()


# --- evaluation ------------------------------------------------------------------------------------

class ObjectiveInput(BaseSchema):
    objective = text(200)
    rating = fields.String(required=True, validate=validate.OneOf(list(RATINGS)))
    note = text(1000, required=False, load_default="")


class ProblemInput(BaseSchema):
    """A problem found in the drill: it becomes a corrective action."""

    problem = text(2000)
    action = text(2000, required=False, load_default="")
    owner_name = text(50)
    owner_mobile = Mobile(allow_none=True, load_default=None)
    due_on = fields.Date(required=True)
    #: Start a revision of this plan for the problem (trigger "found_in_response").
    revise_plan_id = fields.Integer(allow_none=True, load_default=None)


class DrillEvaluationInput(BaseSchema):
    """The evaluation of a drill; ``problems`` add corrective actions (existing ones are kept)."""

    evaluated_on = fields.Date(required=True)
    evaluator = text(100, required=False, load_default="")
    objectives = fields.List(fields.Nested(ObjectiveInput), required=True, validate=validate.Length(min=1, max=30))
    summary = text(10000, required=False, load_default="")
    plan_revision_needed = fields.Boolean(load_default=False)
    revision_sections = fields.List(text(200), load_default=list, validate=validate.Length(max=50))
    problems = fields.List(fields.Nested(ProblemInput), load_default=list, validate=validate.Length(max=50))

    @validates_schema(skip_on_field_errors=False)
    def _sections_when_revision(self, data, **_kwargs):
        if data.get("plan_revision_needed") and not data.get("revision_sections"):
            raise ValidationError({"revision_sections": [_("Name the sections of the plan that need revision.")]})


# --- corrective actions ----------------------------------------------------------------------------

class ActionChangeInput(BaseSchema):
    """A status transition: open → done (with evidence), done → verified, done → open (sent back)."""

    status = fields.String(required=True, validate=validate.OneOf(["open", "done", "verified"]))
    evidence = text(5000, required=False, load_default="")
    note = text(500, required=False, load_default="")


class ActionForm(ActionChangeInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class ActionQuery(BaseSchema):
    status = fields.String(validate=validate.OneOf(["open", "done", "verified"]))
    overdue = fields.Boolean()
    enterprise_id = fields.Integer()
    township_id = fields.Integer()
    drill_id = fields.Integer()


class RevisionStartInput(BaseSchema):
    plan_id = fields.Integer(required=True)
    revision_note = text(500, required=False, load_default="")


# --- spot checks -----------------------------------------------------------------------------------

class SpotCheckInput(BaseSchema):
    checked_on = fields.Date(required=True)
    result = fields.String(required=True, validate=validate.OneOf(list(SPOT_CHECK_RESULTS)))
    findings = text(5000, required=False, load_default="")
    correction_required = text(5000, required=False, load_default="")
    correction_due = fields.Date(allow_none=True, load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _correction_when_short(self, data, **_kwargs):
        if data.get("result") != "short":
            return
        errors = {}
        if not data.get("correction_required"):
            errors["correction_required"] = [_("Say what the enterprise must correct.")]
        if data.get("correction_due") is None:
            errors["correction_due"] = [_("Give the deadline of the correction.")]
        elif data.get("checked_on") and data["correction_due"] < data["checked_on"]:
            errors["correction_due"] = [_("The deadline must not be before the check.")]
        if errors:
            raise ValidationError(errors)


class SpotCheckForm(SpotCheckInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class AnswerInput(BaseSchema):
    response = text(5000)


class AnswerForm(AnswerInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


# --- output ----------------------------------------------------------------------------------------

class DrillFileSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    size = fields.Integer()
    file_type = fields.String()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class ActionSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    drill_id = fields.Integer()
    evaluation_id = fields.Integer(allow_none=True)
    spot_check_id = fields.Integer(allow_none=True)
    problem = fields.String()
    action = fields.String()
    owner_name = fields.String()
    owner_mobile = fields.String(allow_none=True)
    due_on = fields.Date()
    status = fields.Function(lambda a: a.status.value)
    evidence = fields.String()
    evidence_file_id = fields.Integer(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    verified_by_id = fields.Integer(allow_none=True)
    revision_version_id = fields.Integer(allow_none=True)


class DrillEvaluationSchema(BaseSchema):
    id = fields.Integer()
    drill_id = fields.Integer()
    evaluated_on = fields.Date()
    evaluator = fields.String()
    objectives = fields.List(fields.Dict())
    summary = fields.String()
    plan_revision_needed = fields.Boolean()
    revision_sections = fields.List(fields.Raw())
    actions = fields.List(fields.Nested(ActionSchema))


class SpotCheckSchema(BaseSchema):
    id = fields.Integer()
    drill_id = fields.Integer()
    enterprise_id = fields.Integer()
    checked_on = fields.Date()
    result = fields.String()
    findings = fields.String()
    correction_required = fields.String()
    correction_due = fields.Date(allow_none=True)
    response = fields.String()
    responded_at = fields.DateTime(allow_none=True)
    status = fields.String()


class DrillSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    cycle_id = fields.Integer(allow_none=True)
    title = fields.String()
    started_at = fields.DateTime()
    duration_minutes = fields.Integer()
    form = fields.String()
    content = fields.String()
    purpose = fields.String()
    scenario = fields.String()
    location = fields.String()
    organiser = fields.String()
    participant_count = fields.Integer()
    participants = fields.List(fields.String())
    observers = fields.List(fields.String())
    reported_at = fields.DateTime(allow_none=True)
    version_ids = fields.Function(lambda d: [v.id for v in d.versions])
    occurrence_ids = fields.Function(lambda d: [o.id for o in d.occurrences])
    files = fields.List(fields.Nested(DrillFileSchema))
    evaluated = fields.Function(lambda d: d.evaluation is not None)
    spot_checks = fields.List(fields.Nested(SpotCheckSchema))
