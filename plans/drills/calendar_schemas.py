"""Schemas of the drill calendars and calendar feeds (pages and API)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, fields, validate

from emergency.organisations import industries
from emergency.core.validation import BaseSchema, FormSchema, text

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class CalendarQuery(BaseSchema):
    """The month or week shown and its filters (an enterprise user always sees only its own)."""

    class Meta:
        unknown = EXCLUDE

    month = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(MONTH, error=_l("Use YYYY-MM, e.g. 2026-12.")))
    start = fields.Date(load_default=None, allow_none=True)
    township_id = fields.Integer(load_default=None, allow_none=True)
    industry = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf([i.code for i in industries.INDUSTRIES]))
    enterprise_id = fields.Integer(load_default=None, allow_none=True)


class FeedForm(FormSchema):
    """A new calendar feed from the page; officers choose the county (blank) or one enterprise."""

    label = text(100, required=False, load_default="")
    enterprise_id = fields.Integer(load_default=None, allow_none=True)


class FeedInput(BaseSchema):
    """A new calendar feed. Officers: ``enterprise_id`` null for the whole county; an enterprise
    token's feed is always its own enterprise's."""

    label = text(100, required=False, load_default="")
    enterprise_id = fields.Integer(load_default=None, allow_none=True)


class FeedSchema(BaseSchema):
    id = fields.Integer()
    label = fields.String()
    enterprise_id = fields.Integer(allow_none=True)
    enterprise_name = fields.Function(lambda f: f.enterprise.name if f.enterprise else None)
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    last_used_at = fields.AwareDateTime(allow_none=True)


class CreatedFeedSchema(FeedSchema):
    #: Shown once: only the token's SHA-256 is kept.
    url = fields.String(metadata={"description": "The subscription URL; shown only in this response"})
