"""Schemas for logins, passwords, users and tokens."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates, validates_schema

from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.validation import BaseSchema, FormSchema, text
from emergency.auth.models import Role

MIN_PASSWORD = 10


def check_password_strength(value: str) -> None:
    if len(value) < MIN_PASSWORD:
        raise ValidationError(_("Use at least %(n)s characters.", n=MIN_PASSWORD))
    kinds = sum([
        any(c.isalpha() for c in value),
        any(c.isdigit() for c in value),
        any(not c.isalnum() for c in value),
    ])
    if kinds < 2:
        raise ValidationError(_("Mix at least two of: letters, digits, symbols."))


class LoginInput(FormSchema):
    username = text(64)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenRequest(BaseSchema):
    username = text(64)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = text(100, required=False, load_default="api", metadata={"description": "What the token is for"})


class TokenSchema(BaseSchema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`; shown once"})
    id = fields.Integer()
    name = fields.String()
    expires_at = fields.AwareDateTime()


class TokenInfoSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    last_used_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)


class PasswordChange(FormSchema):
    current_password = fields.String(required=True)
    new_password = fields.String(required=True, validate=check_password_strength)
    confirm_password = fields.String(required=True)

    @validates_schema
    def _confirmed(self, data: dict, **_kwargs) -> None:
        if data.get("new_password") != data.get("confirm_password"):
            raise ValidationError(_("The two new passwords differ."), "confirm_password")


class UserInput(FormSchema):
    username = text(64, also=validate.Regexp(
        r"^[A-Za-z0-9_.-]+$", error=_l("Letters, digits, dot, dash and underscore only.")))
    display_name = text(100)
    role = fields.Enum(Role, required=True, by_value=True)
    enterprise_id = fields.Integer(load_default=None, allow_none=True)

    @validates("enterprise_id")
    def _enterprise_exists(self, value: int | None, **_kwargs) -> None:
        if value is not None and db.session.get(Enterprise, value) is None:
            raise ValidationError(_("No such enterprise."))

    @validates_schema
    def _enterprise_binding(self, data: dict, partial=None, **_kwargs) -> None:
        role = data.get("role")
        if role is None:
            return
        if role == Role.enterprise and data.get("enterprise_id") is None:
            raise ValidationError(_("An enterprise user must belong to an enterprise."), "enterprise_id")
        if role != Role.enterprise and data.get("enterprise_id") is not None:
            raise ValidationError(_("Only enterprise users belong to an enterprise."), "enterprise_id")
