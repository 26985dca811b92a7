"""Schemas for plans, versions, sections, reviews, publication, revision and evaluation."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import FileStorage

from emergency.core.validation import BaseSchema, FormSchema, text

from plans.plan.models import (
    ATTACHMENT_KINDS, EVALUATION_CONCLUSIONS, KEY_PARTS, REVISION_TRIGGERS, PlanKind, ReviewConclusion,
)
from plans.plan.operations import evaluation_due


class PlanInput(BaseSchema):
    kind = fields.Enum(PlanKind, by_value=True, required=True)
    title = text(200)
    subject = text(200, required=False, load_default="")
    parent_id = fields.Integer(allow_none=True, load_default=None)
    accident_types = fields.List(text(30), load_default=list)


class PlanForm(PlanInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class ResponseLevel(BaseSchema):
    name = text(20)
    criteria = text(500, required=False, load_default="")


class DraftInput(BaseSchema):
    """A draft's structured fields (load with ``partial=True`` for a change of some)."""

    title = text(200)
    subject = text(200, required=False)
    response_levels = fields.List(fields.Nested(ResponseLevel), validate=validate.Length(max=6))
    accident_types = fields.List(text(30), validate=validate.Length(max=30))
    revision_note = text(500, required=False)


class SectionInput(BaseSchema):
    title = text(200)
    level = fields.Integer(load_default=1, validate=validate.Range(1, 3))
    #: Rich text; anything outside the safe subset is removed on save.
    body = fields.String(load_default="", validate=validate.Length(max=200_000))
    key_part = fields.String(allow_none=True, validate=validate.OneOf(list(KEY_PARTS)))
    position = fields.Integer(validate=validate.Range(min=1))


class SectionChangeInput(SectionInput):
    """A change of some of a section's fields (load with ``partial=True``; moving is its own request)."""

    class Meta(BaseSchema.Meta):
        exclude = ("position",)


class SectionForm(SectionInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class SectionMoveInput(BaseSchema):
    """Move a section one place (``direction``) or to a place (``position``, 1 = first)."""

    direction = fields.String(validate=validate.OneOf(["up", "down"]))
    position = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _one_of_them(self, data, **_kwargs):
        if ("direction" in data) == ("position" in data):
            raise ValidationError({"direction": [_("Give either a direction or a position.")]})


class FileUpload(Upload):
    """A file part of a multipart/form-data request (a plain form field of that name is refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage) or not value.filename:
            raise ValidationError(_("Send a file (a multipart/form-data file part)."))
        return value


class AttachmentInput(BaseSchema):
    """An attachment upload (multipart/form-data); the file's type is checked by its content."""

    kind = fields.String(required=True, validate=validate.OneOf(list(ATTACHMENT_KINDS)))
    file = FileUpload(required=True)


class ImportInput(BaseSchema):
    """A Word import (multipart/form-data): without ``confirm`` the sections are only shown."""

    file = FileUpload(required=True, metadata={"description": "A Word document (.docx)"})
    confirm = fields.Boolean(load_default=False)


class CompareQuery(BaseSchema):
    """Versions to compare (default: the last two)."""

    from_ = fields.Integer(data_key="from", validate=validate.Range(min=1))
    to = fields.Integer(validate=validate.Range(min=1))


class ExpertInput(BaseSchema):
    name = text(50)
    organisation = text(100)
    speciality = text(50)
    no_conflict = fields.Boolean(required=True)


class ReviewInput(BaseSchema):
    held_on = fields.Date(required=True)
    conclusion = fields.String(required=True, validate=validate.OneOf([c.value for c in ReviewConclusion]))
    opinion = text(5000, required=False, load_default="")
    experts = fields.List(fields.Nested(ExpertInput), required=True, validate=validate.Length(min=1, max=30))


class PublishInput(BaseSchema):
    principal_name = text(50)
    #: The publication date (公布日期, article 26): the filing clock runs from it.
    signed_on = fields.Date(required=True, validate=validate.Range(min=date(2004, 1, 1)),
                            metadata={"description": "The day the principal signed and published the plan "
                                                     "(公布日期); the 20 working days for filing run from it"})
    #: Tell the enterprise's staff contacts by SMS.
    announce = fields.Boolean(load_default=False)


class PublishForm(PublishInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class RevisionInput(BaseSchema):
    revision_trigger = fields.String(required=True, validate=validate.OneOf(list(REVISION_TRIGGERS)))
    revision_note = text(500, required=False, load_default="")

    @validates_schema
    def _note_for_other(self, data, **_kwargs):
        if data.get("revision_trigger") == "other" and not data.get("revision_note"):
            raise ValidationError({"revision_note": [_("Say what requires the revision.")]})


class RevisionForm(RevisionInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class EvaluationInput(BaseSchema):
    evaluated_on = fields.Date(required=True)
    conclusion = fields.String(required=True, validate=validate.OneOf(list(EVALUATION_CONCLUSIONS)))
    note = text(5000, required=False, load_default="")


class EvaluationForm(EvaluationInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


# --- output ----------------------------------------------------------------------------------

class SectionSchema(BaseSchema):
    id = fields.Integer()
    position = fields.Integer()
    level = fields.Integer()
    title = fields.String()
    body = fields.String()
    key_part = fields.String(allow_none=True)


class ReviewSchema(BaseSchema):
    id = fields.Integer()
    held_on = fields.Date()
    conclusion = fields.Function(lambda r: r.conclusion.value)
    opinion = fields.String()
    experts = fields.List(fields.Dict())
    minutes_id = fields.Integer(allow_none=True)


class AttachmentSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    size = fields.Integer()
    file_type = fields.String()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class EvaluationSchema(BaseSchema):
    id = fields.Integer()
    evaluated_on = fields.Date()
    conclusion = fields.String()
    note = fields.String()
    created_at = fields.DateTime()


class ImportedSectionSchema(BaseSchema):
    title = fields.String()
    level = fields.Integer()
    body = fields.String(attribute="html")


class ImportSchema(BaseSchema):
    """A Word import job. A small file is read at once (200, ``done`` or ``saved``); a larger one
    by the worker (202, ``queued``): follow it at ``GET …/imports/{job_id}``."""

    id = fields.Integer()
    #: queued / running / done (read: review the sections) / saved / failed (see ``error``).
    status = fields.String(metadata={"enum": ["queued", "running", "done", "saved", "failed"]})
    #: 0–100.
    progress = fields.Integer()
    filename = fields.String()
    #: Paragraphs in the file, counted before it was read.
    paragraphs = fields.Integer()
    #: False for a preview: nothing was changed.
    saved = fields.Boolean()
    #: The sections found (empty until the file is read).
    sections = fields.List(fields.Nested(ImportedSectionSchema), attribute="preview")
    error = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class SectionChangeSchema(BaseSchema):
    #: added / removed / changed / unchanged
    change = fields.String()
    key_part = fields.String(allow_none=True)
    old_title = fields.Function(lambda row: row["old"].title if row["old"] else None)
    new_title = fields.Function(lambda row: row["new"].title if row["new"] else None)
    old_section_id = fields.Function(lambda row: row["old"].id if row["old"] else None)
    new_section_id = fields.Function(lambda row: row["new"].id if row["new"] else None)
    #: The difference as side-by-side HTML (escaped text), when the section changed.
    diff = fields.Function(lambda row: str(row["diff"]) if row["diff"] is not None else None)


class ComparisonSchema(BaseSchema):
    from_ = fields.Function(lambda c: c.old.number, data_key="from")
    to = fields.Function(lambda c: c.new.number)
    #: KEY_PARTS codes that differ between the two versions.
    key_changes = fields.List(fields.String())
    #: The enterprise files its plans and a key part changed: publishing means filing again.
    refiling_needed = fields.Boolean()
    sections = fields.List(fields.Nested(SectionChangeSchema), attribute="rows")


class VersionSchema(BaseSchema):
    id = fields.Integer()
    number = fields.Integer()
    status = fields.Function(lambda v: v.status.value)
    revision_trigger = fields.String(allow_none=True)
    revision_note = fields.String()
    response_levels = fields.List(fields.Dict())
    accident_types = fields.List(fields.String())
    principal_name = fields.String(allow_none=True)
    signed_on = fields.Date(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    key_changes = fields.List(fields.String())
    content_hash = fields.String(allow_none=True)
    sections = fields.List(fields.Nested(SectionSchema))
    reviews = fields.List(fields.Nested(ReviewSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))


class PlanSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    kind = fields.Function(lambda p: p.kind.value)
    title = fields.String()
    subject = fields.String()
    parent_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    current_version = fields.Function(lambda p: p.current.number if p.current else None)
    draft_version = fields.Function(lambda p: p.draft.number if p.draft else None)
    #: The next three-yearly evaluation (null when the enterprise need not evaluate, or before publication).
    evaluation_due = fields.Function(lambda p: _iso(evaluation_due(p)))
    versions = fields.Function(lambda p: [{"number": v.number, "status": v.status.value,
                                           "signed_on": v.signed_on.isoformat() if v.signed_on else None}
                                          for v in p.versions])


def _iso(day):
    return day.isoformat() if day else None


class PlanQuery(BaseSchema):
    enterprise_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf([k.value for k in PlanKind]))
