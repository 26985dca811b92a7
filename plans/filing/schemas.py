"""Schemas for filings: submission, the bureau's decision, lists."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError, fields, validate, validates_schema

from emergency.core.validation import BaseSchema, FormSchema, text
from emergency.workdays.calendar import provisional_note

from plans.filing.models import RETURN_REASONS, FilingStatus
from plans.filing.operations import working_days_left
from plans.filing.operations import materials
from emergency.core.extensions import db
from emergency.organisations.models import Township
from plans.filing.dashboard import MUST_FILE_CODES


class SubmitInput(BaseSchema):
    #: The contact person on the application form (defaults to the safety manager).
    applicant_name = text(50, required=False)
    applicant_phone = text(20, required=False, also=validate.Regexp(r"^[0-9+\- ]{7,20}$"))


class SubmitForm(SubmitInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class ReturnInput(BaseSchema):
    items = fields.List(fields.String(validate=validate.OneOf(list(RETURN_REASONS))), required=True,
                        validate=validate.Length(min=1))
    note = text(2000, required=False, load_default="")


class FilingQuery(BaseSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in FilingStatus]))
    enterprise_id = fields.Integer()
    overdue = fields.Boolean()


class FilingEventSchema(BaseSchema):
    action = fields.String()
    note = fields.String()
    items = fields.List(fields.String())
    at = fields.DateTime()


class FilingSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    enterprise_name = fields.Function(lambda f: f.enterprise.name)
    plan_id = fields.Function(lambda f: f.version.plan_id)
    plan_title = fields.Function(lambda f: f.version.plan.title)
    version = fields.Function(lambda f: f.version.number)
    status = fields.Function(lambda f: f.status.value)
    submit_by = fields.Date(metadata={"description": "Last day to submit: 20 working days after the publication date"})
    submit_by_provisional = fields.Function(lambda f: f.submit_by_provisional_year is not None, metadata={
        "description": "true while the count runs into a year whose holidays are not confirmed (暂定): "
                       "the date is the earliest it can be and is recomputed when the year is confirmed"})
    submit_by_provisional_year = fields.Integer(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    decide_by = fields.Date(allow_none=True)
    decide_by_provisional = fields.Function(lambda f: f.decide_by_provisional_year is not None, metadata={
        "description": "true while the bureau's 5-day clock is provisional: the filing is never deemed filed "
                       "on a provisional date (held until the year is confirmed)"})
    decide_by_provisional_year = fields.Integer(allow_none=True)
    provisional_note = fields.Function(lambda f: provisional_note(
        f.decide_by_provisional_year if f.status.value == "submitted" else f.submit_by_provisional_year),
        metadata={"description": "Why the running clock is provisional, in the request's language (empty when final)"})
    superseded_by_id = fields.Integer(allow_none=True, metadata={
        "description": "For status superseded: the filing of the later version that replaced this one"})
    working_days_left = fields.Method("_left")
    applicant_name = fields.String()
    applicant_phone = fields.String()
    return_items = fields.List(fields.String())
    return_note = fields.String()
    number = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    materials = fields.Method("_materials")
    events = fields.List(fields.Nested(FilingEventSchema))

    def _left(self, filing):

        return working_days_left(filing)

    def _materials(self, filing):

        return materials(filing)


class DashboardQuery(FormSchema):
    """The plans dashboard's filters and the page of each of its lists (blank inputs count as missing)."""

    township_id = fields.Integer(validate=validate.Range(min=1))
    industry = fields.String()
    waiting_page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    overdue_page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    evaluations_page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))

    @validates_schema(skip_on_field_errors=False)
    def _known(self, data, **_kwargs):


        errors = {}
        if data.get("township_id") and db.session.get(Township, data["township_id"]) is None:
            errors["township_id"] = [_("No such township.")]
        if data.get("industry") and data["industry"] not in MUST_FILE_CODES:
            errors["industry"] = [_("Choose an industry whose enterprises must file.")]
        if errors:
            raise ValidationError(errors)
