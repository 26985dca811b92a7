"""Shared schema pieces: fields, validators and messages users can read.

Validation lives in marshmallow schemas used by both pages and API. Marshmallow's own
messages are English; ``localise_errors`` turns them (and our lazy strings) into the user's
language, keeping the field names as keys.
"""
from __future__ import annotations

import re
from typing import Any

import phonenumbers
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .organisations import credit_code as credit

#: Marshmallow's built-in messages, as regular expressions with the translation to use.
_BUILTIN_MESSAGES: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"^Missing data for required field\.$", _l("This field is required.")),
        (r"^Field may not be null\.$", _l("This field is required.")),
        (r"^Unknown field\.$", _l("Unknown field.")),
        (r"^Invalid input type\.$", _l("Invalid input type.")),
        (r"^Invalid value\.$", _l("Invalid value.")),
        (r"^Not a valid string\.$", _l("Must be text.")),
        (r"^Not a valid integer\.$", _l("Must be a whole number.")),
        (r"^Not a valid number\.$", _l("Must be a number.")),
        (r"^Not a valid boolean\.$", _l("Must be true or false.")),
        (r"^Not a valid date\.$", _l("Must be a date (YYYY-MM-DD).")),
        (r"^Not a valid datetime\.$", _l("Must be a date and time.")),
        (r"^Not a valid list\.$", _l("Must be a list.")),
        (r"^Not a valid email address\.$", _l("Must be a valid e-mail address.")),
        (r"^Special numeric values .*$", _l("Must be a number.")),
        (r"^Shorter than minimum length (?P<min>\d+)\.$", _l("Must be at least %(min)s characters.")),
        (r"^Longer than maximum length (?P<max>\d+)\.$", _l("Must be at most %(max)s characters.")),
        (
            r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$",
            _l("Must be between %(min)s and %(max)s characters."),
        ),
        (r"^Length must be (?P<equal>\d+)\.$", _l("Must be exactly %(equal)s characters.")),
        (
            r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.$",
            _l("Must be between %(min)s and %(max)s."),
        ),
        (r"^Must be greater than or equal to (?P<min>\S+)\.$", _l("Must be at least %(min)s.")),
        (r"^Must be less than or equal to (?P<max>\S+)\.$", _l("Must be at most %(max)s.")),
        (r"^Must be one of: (?P<choices>.*)\.$", _l("Must be one of: %(choices)s.")),
    )
)


def localise_message(message: Any) -> str:
    text = str(message)
    for pattern, translated in _BUILTIN_MESSAGES:
        match = pattern.match(text)
        if match:
            return str(translated) % match.groupdict() if match.groupdict() else str(translated)
    return text


def localise_errors(errors: Any) -> Any:
    """Marshmallow's error structure with every message in the user's language."""
    if isinstance(errors, dict):
        return {key: localise_errors(value) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [localise_errors(value) for value in errors]
    return localise_message(errors)


def first_errors(errors: dict[str, Any]) -> dict[str, str]:
    """Flatten errors to one message per field, for showing beside form fields."""
    flat: dict[str, str] = {}
    for key, value in localise_errors(errors).items():
        while isinstance(value, (list, tuple)) and value:
            value = value[0]
        if isinstance(value, dict):
            for sub_key, sub_value in first_errors(value).items():
                flat[f"{key}.{sub_key}"] = sub_value
        else:
            flat[key] = str(value)
    return flat


class BaseSchema(Schema):
    """Input schemas ignore nothing silently: unknown fields are errors."""

    class Meta:
        ordered = True


class FormSchema(BaseSchema):
    """For HTML forms: unknown fields (the CSRF token, buttons) are dropped, and empty
    strings from blank inputs count as missing."""

    class Meta:
        unknown = EXCLUDE
        ordered = True


def parse_mobile(value: str) -> str:
    """Validate a mainland mobile number and return it in E.164, or raise ValidationError."""
    raw = (value or "").strip().replace(" ", "").replace("-", "")
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Not a phone number.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Not a valid phone number."))
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(_("Must be a mobile number that can receive SMS."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Mobile(fields.String):
    """A mobile phone number, accepted in local or international form, kept in E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        return parse_mobile(super()._deserialize(value, attr, data, **kwargs))


class CreditCode(fields.String):
    """Unified social credit code, normalised to upper case and checked (GB 32100-2015)."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = credit.normalise(super()._deserialize(value, attr, data, **kwargs))
        reason = credit.problem(code)
        if reason == "length":
            raise ValidationError(_("A unified social credit code has 18 characters."))
        if reason == "characters":
            raise ValidationError(
                _("Only digits and the capital letters A–Y except I, O, Z, S and V may be used.")
            )
        if reason == "area":
            raise ValidationError(_("Characters 3 to 8 must be the six-digit area code."))
        if reason == "check":
            raise ValidationError(
                _(
                    "The check character (the 18th) is wrong: by GB 32100-2015 it should be %(expected)s.",
                    expected=credit.check_character(code[:17]),
                )
            )
        return code


def text(max_length: int, *, required: bool = True, also: Any = None, **kwargs: Any) -> fields.String:
    """A trimmed text field with a maximum length (and the validators in ``also``)."""
    validators = [validate.Length(max=max_length)]
    if required:
        validators.insert(0, validate.Length(min=1, error=_l("This field is required.")))
    if also is not None:
        validators.append(also)
    return Trimmed(required=required, validate=validators, **kwargs)


class Trimmed(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


__all__ = [
    "BaseSchema",
    "CreditCode",
    "FormSchema",
    "Mobile",
    "ValidationError",
    "first_errors",
    "localise_errors",
    "text",
]
