"""Schemas for contacts, groups, campaigns and deliveries (pages and API)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township
from emergency.core.timeutil import utcnow
from emergency.core.validation import BaseSchema, FormSchema, MAX_ID, Mobile, Ref, text
from emergency.messaging.models import CONTACT_ROLES, Contact, OrgKind
from emergency.messaging.sms import count_parts

CAMPAIGN_KINDS = {
    "warning": _l("Warning"),
    "drill_reminder": _l("Drill reminder"),
    "notice": _l("Notice"),
}
PRIORITIES = {"urgent": _l("Urgent: goes at once, day or night"), "normal": _l("Normal: waits out quiet hours")}
#: A long SMS is many parts; beyond this the message should be a notice with a link.
MAX_BODY = 670


def record_id(**kwargs) -> fields.Integer:
    """An id referring to a record: a positive integer a database key can hold (whether the
    record exists is checked by the operation, as a field error too)."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class ContactInput(BaseSchema):
    name = text(50)
    mobile = Mobile(required=True)
    org_kind = fields.Enum(OrgKind, by_value=True, load_default=OrgKind.enterprise)
    enterprise_id = Ref(Enterprise, allow_none=True, load_default=None)
    township_id = Ref(Township, allow_none=True, load_default=None)
    roles = fields.List(fields.String(validate=validate.OneOf(list(CONTACT_ROLES))), load_default=list)
    backup_contact_id = Ref(Contact, allow_none=True, load_default=None)
    note = text(200, required=False, load_default="")
    active = fields.Boolean(load_default=True)


class ContactPatch(ContactInput):
    """Some fields of a contact (load with ``partial=True``)."""


class ContactForm(ContactInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class ContactSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    mobile = fields.String()
    org_kind = fields.Function(lambda c: c.org_kind.value)
    enterprise_id = fields.Integer(allow_none=True)
    enterprise_name = fields.Function(lambda c: c.enterprise.name if c.enterprise else None)
    township_id = fields.Integer(allow_none=True)
    roles = fields.List(fields.String())
    backup_contact_id = fields.Integer(allow_none=True)
    register_role = fields.String(allow_none=True)
    note = fields.String()
    active = fields.Boolean()
    opted_out = fields.Boolean(dump_default=False)


class CriteriaSchema(BaseSchema):
    township_ids = fields.List(record_id(), load_default=list)
    industries = fields.List(fields.String(validate=validate.OneOf([i.code for i in industries.INDUSTRIES])),
                             load_default=list)
    high_risk = fields.Boolean(allow_none=True, load_default=None)
    roles = fields.List(fields.String(validate=validate.OneOf(list(CONTACT_ROLES))), load_default=list)
    org_kinds = fields.List(fields.String(validate=validate.OneOf([k.value for k in OrgKind])), load_default=list)


class GroupInput(BaseSchema):
    name = text(100)
    kind = fields.String(required=True, validate=validate.OneOf(["static", "filter"]))
    member_ids = fields.List(record_id(), load_default=list)
    criteria = fields.Nested(CriteriaSchema, load_default=dict)

    @validates_schema
    def _something_selected(self, data: dict, **_kwargs) -> None:
        if data.get("kind") == "static" and not data.get("member_ids"):
            raise ValidationError(_("Choose at least one contact."), "member_ids")
        if data.get("kind") == "filter" and not any((data.get("criteria") or {}).values()):
            raise ValidationError(_("Choose at least one condition."), "criteria")


class GroupSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    criteria = fields.Dict()
    member_ids = fields.Function(lambda g: [c.id for c in g.members])


class CampaignInput(BaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(list(CAMPAIGN_KINDS)))
    title = text(200)
    body = text(MAX_BODY, metadata={"description": "SMS text; Chinese is sent as UCS-2 (70/67 characters a part)"})
    priority = fields.String(required=True, validate=validate.OneOf(list(PRIORITIES)))
    ack_requested = fields.Boolean(load_default=False)
    group_ids = fields.List(record_id(), load_default=list)
    contact_ids = fields.List(record_id(), load_default=list)
    phones = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list)
    send_at = fields.AwareDateTime(allow_none=True, load_default=None,
                                   metadata={"description": "Send later (ISO 8601 with zone); empty: now"})

    @validates_schema
    def _send_at_future(self, data: dict, **_kwargs) -> None:
        if data.get("send_at") is not None and data["send_at"] < utcnow():
            raise ValidationError(_("The sending time has passed."), "send_at")


class PreviewSchema(BaseSchema):
    recipients = fields.Integer(metadata={"description": "Distinct phone numbers that will be sent to"})
    opted_out = fields.Integer()
    invalid = fields.Integer()
    encoding = fields.String()
    characters = fields.Integer()
    parts = fields.Integer(metadata={"description": "SMS parts per message"})
    total_parts = fields.Integer()


class CampaignSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    priority = fields.String()
    ack_requested = fields.Boolean()
    status = fields.Function(lambda c: c.status.value)
    send_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    approved_at = fields.AwareDateTime(allow_none=True)
    released_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    failure_reason = fields.String(allow_none=True, metadata={"description": "Why a failed campaign failed"})
    status_detail = fields.String(allow_none=True, metadata={
        "description": "What the status means here: why it failed, how many never reported a status when done, "
                       "how many reports are awaited while sending"})
    author = fields.Function(lambda c: c.author.username if c.author else None)
    approver = fields.Function(lambda c: c.approver.username if c.approver else None)
    parts = fields.Function(lambda c: count_parts(c.body).parts)
    counts = fields.Dict()


class DeliverySchema(BaseSchema):
    id = fields.Integer()
    phone = fields.String()
    status = fields.Function(lambda d: d.status.value)
    contact_id = fields.Integer(allow_none=True)
    contact_name = fields.Function(lambda d: d.contact.name if d.contact else None)
    organisation = fields.Function(lambda d: d.contact.enterprise.name if d.contact and d.contact.enterprise else None)
    provider = fields.String(allow_none=True)
    provider_sid = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    attempts = fields.Integer()
    queued_at = fields.AwareDateTime(allow_none=True)
    sent_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    failed_at = fields.AwareDateTime(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)


class DeliveryQuery(BaseSchema):
    class Meta:
        unknown = "exclude"

    status = fields.String(load_default=None, allow_none=True)
    problems = fields.Boolean(load_default=False, metadata={
        "description": "Only recipients not delivered, or not acknowledged when acknowledgement was asked"})
