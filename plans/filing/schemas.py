"""Schemas for filings: submission, the bureau's decision, lists."""
from __future__ import annotations

from marshmallow import fields, validate

from emergency.validation import BaseSchema, FormSchema, text

from .models import RETURN_REASONS, FilingStatus


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
    submit_by = fields.Date()
    submitted_at = fields.DateTime(allow_none=True)
    decide_by = fields.Date(allow_none=True)
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
        from .operations import working_days_left

        return working_days_left(filing)

    def _materials(self, filing):
        from .operations import materials

        return materials(filing)
