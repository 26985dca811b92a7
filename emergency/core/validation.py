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
from emergency.core.extensions import db
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from werkzeug.routing import IntegerConverter


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


# --- bounds every input shares --------------------------------------------------------------

#: Ids are positive and fit the primary keys' INTEGER column: 32 bits on PostgreSQL (a larger
#: number in a query or an insert is an "integer out of range" error there, not just no row).
MIN_ID, MAX_ID = 1, 2**31 - 1
#: Every other integer (page numbers, counts, positions, years) fits a 32-bit INTEGER column and
#: leaves room for arithmetic such as ``(page - 1) * page_size`` in SQL.
MIN_INT, MAX_INT = -(2**31), 2**31 - 1

#: C0 and C1 control characters and DEL, except tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a control character, a lone surrogate), or None."""
    if _SURROGATE.search(value):
        return _("Contains an invalid character (an unpaired surrogate).")
    match = _CONTROL.search(value)
    if match:
        return _("Contains a control character (U+%(code)s).", code=f"{ord(match.group()):04X}")
    return None


def check_text(value: Any) -> None:
    """Validator on every text field: storable, printable text only."""
    if isinstance(value, str):
        reason = text_problem(value)
        if reason:
            raise ValidationError(reason)


#: Dates and times outside these years are typing errors (and year 1 with an offset overflows).
MIN_YEAR, MAX_YEAR = 1900, 2199


def check_year(value: Any) -> None:
    """Validator on every date and date-time field."""
    if value is not None and not (MIN_YEAR <= value.year <= MAX_YEAR):
        raise ValidationError(_("The year must be between %(min)s and %(max)s.", min=MIN_YEAR, max=MAX_YEAR))


def is_id_field(name: str | None) -> bool:
    return bool(name) and (name == "id" or name.endswith(("_id", "_ids")))


def bound_int(value: Any, *, identifier: bool = False) -> int | None:
    """``value`` (a query argument's text, say) as an int within bounds, else None.

    For page and filter arguments of web routes: ``request.args.get("page", type=bounded)``.
    """
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    low, high = (MIN_ID, MAX_ID) if identifier else (MIN_INT, MAX_INT)
    return number if low <= number <= high else None


def id_arg(value: Any) -> int:
    """``type=`` for ``request.args.get``: an id in range, else ValueError (werkzeug then uses the default)."""
    number = bound_int(value, identifier=True)
    if number is None:
        raise ValueError("not an id")
    return number


def int_arg(value: Any) -> int:
    """``type=`` for ``request.args.get``: an integer in range, else ValueError."""
    number = bound_int(value)
    if number is None:
        raise ValueError("not an integer in range")
    return number


def year_arg(value: Any) -> int:
    """``type=`` for ``request.args.get``: a year between MIN_YEAR and MAX_YEAR, else ValueError."""
    number = bound_int(value)
    if number is None or not MIN_YEAR <= number <= MAX_YEAR:
        raise ValueError("not a year in range")
    return number


def ids_of(values: Any) -> list[int]:
    """The ids among form values (``request.form.getlist``), ignoring anything else."""
    return [number for number in (bound_int(v, identifier=True) for v in values) if number is not None]


class Ref(fields.Integer):
    """The id of an existing row of ``model``: out of range or unknown is a field error (not a
    foreign-key failure at commit). Whether the user may use that row is the operation's check."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if not MIN_ID <= number <= MAX_ID:
            raise ValidationError(_("Must be between %(min)s and %(max)s.", min=MIN_ID, max=MAX_ID))
        if db.session.get(self.model, number) is None:
            raise ValidationError(_("There is no such record (id %(id)s).", id=number))
        return number


class BoundedIntConverter(IntegerConverter):
    """The ``<int:…>`` URL converter, bounded to ids (1 … 2^31-1): larger numbers are a 404."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = MIN_ID, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _has_bounds(field: fields.Field) -> bool:
    return any(isinstance(v, validate.Range) and v.min is not None and v.max is not None
               for v in field.validators) or any(isinstance(v, validate.OneOf) for v in field.validators)


def bound_field(name: str | None, field: fields.Field) -> None:
    """Give a field the bounds every input shares: integers in range, text storable, years sane.

    Applied by ``BaseSchema`` to every field it binds (and to the items of lists, tuples and
    dicts), so no schema has to remember; an explicit Range is kept and narrowed, never widened.
    """
    if isinstance(field, fields.Integer) and not _has_bounds(field):
        low, high = (MIN_ID, MAX_ID) if is_id_field(name) else (MIN_INT, MAX_INT)
        field.validators = [*field.validators, validate.Range(min=low, max=high)]
    elif isinstance(field, fields.String) and check_text not in field.validators:
        field.validators = [*field.validators, check_text]
    elif isinstance(field, (fields.DateTime, fields.Date)) and check_year not in field.validators:
        field.validators = [*field.validators, check_year]
    if isinstance(field, fields.List):
        bound_field(name, field.inner)
    elif isinstance(field, fields.Tuple):
        for item in field.tuple_fields:
            bound_field(name, item)
    elif isinstance(field, fields.Dict):
        for item in (field.key_field, field.value_field):
            if item is not None:
                bound_field(None, item)


def _walk_text(value: Any, path: str, found: dict[str, list[str]]) -> None:
    """Collect unstorable strings anywhere in free-form data (dict keys too)."""
    if isinstance(value, str):
        reason = text_problem(value)
        if reason:
            found.setdefault(path, [reason])
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk_text(key, path, found)
            _walk_text(item, f"{path}.{key}" if isinstance(key, str) and not text_problem(key) else path, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk_text(item, path, found)


class BaseSchema(Schema):
    """Input schemas ignore nothing silently: unknown fields are errors.

    Every field gets the shared bounds (``bound_field``): ids 1 … 2^31-1, other integers within
    32 bits, text without control characters or lone surrogates. Free-form members (Raw, Dict)
    and the names of unknown members are checked for unstorable strings too.
    """

    class Meta:
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        bound_field(field_name, field_obj)

    @pre_load
    def _refuse_unstorable_text(self, data: Any, **_kwargs: Any) -> Any:
        """Free-form members and member names: no control characters or lone surrogates."""
        if not isinstance(data, dict):
            return data
        found: dict[str, list[str]] = {}
        by_key = {field.data_key or name: field for name, field in self.load_fields.items()}
        for key, value in data.items():
            if isinstance(key, str) and text_problem(key):
                found.setdefault(key, [text_problem(key)])
                continue
            field = by_key.get(key)
            inner = field.inner if isinstance(field, fields.List) else field
            if field is None or isinstance(inner, (fields.Raw, fields.Dict)):
                _walk_text(value, str(key), found)
        if found:
            raise ValidationError(found)
        return data


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


def text(max_length: int, *, required: bool = True, also: Any = None, **kwargs: Any) -> fields.String:
    """A trimmed text field with a maximum length (and the validators in ``also``)."""
    validators = [validate.Length(max=max_length)]
    if required:
        validators.insert(0, validate.Length(min=1, error=_l("This field is required.")))
    if also is not None:
        validators.append(also)
    return Trimmed(required=required, validate=validators, **kwargs)


class Coordinate(fields.Decimal):
    """Latitude or longitude: kept as a Decimal of six places, a JSON number on both sides.

    Decimal's ``as_string`` would answer strings while the document says number (and gives the
    bounds as strings); this field answers numbers and documents numeric bounds.
    """

    def __init__(self, bound: int, **kwargs: Any) -> None:
        super().__init__(places=6, allow_none=True, validate=validate.Range(min=-bound, max=bound), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        number = super()._serialize(value, attr, obj, **kwargs)
        return None if number is None else float(number)


class Trimmed(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


__all__ = [
    "BaseSchema",
    "Coordinate",
    "FormSchema",
    "Mobile",
    "Ref",
    "ValidationError",
    "first_errors",
    "localise_errors",
    "text",
]
