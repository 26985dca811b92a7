"""Audit trail: list filters and output."""
from __future__ import annotations

from marshmallow import fields

from emergency.core.validation import BaseSchema


class AuditQuery(BaseSchema):
    class Meta:
        unknown = "exclude"

    object_type = fields.String(load_default=None, allow_none=True)
    action = fields.String(load_default=None, allow_none=True)
    actor = fields.String(load_default=None, allow_none=True, metadata={"description": "Username"})
    enterprise_id = fields.Integer(load_default=None, allow_none=True)
    object_id = fields.Integer(load_default=None, allow_none=True)
    since = fields.Date(load_default=None, allow_none=True, metadata={"description": "From this day (Asia/Shanghai)"})
    until = fields.Date(load_default=None, allow_none=True, metadata={"description": "Up to this day inclusive"})


class AuditEntrySchema(BaseSchema):
    id = fields.Integer()
    created_at = fields.AwareDateTime()
    actor = fields.String()
    user_id = fields.Integer(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.Integer(allow_none=True)
    enterprise_id = fields.Integer(allow_none=True)
    summary = fields.String()
    changes = fields.Dict()
    remote_addr = fields.String(allow_none=True)
