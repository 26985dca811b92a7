"""Helpers for HTML forms validated by marshmallow schemas."""
from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import flash, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields

from emergency.core.extensions import db
from emergency.core.sheets import ImportRejected, RowError
from emergency.core.validation import first_errors

T = TypeVar("T")


def form_data(names: set[str] | None = None) -> dict[str, Any]:
    """The posted form with blank inputs as None (a cleared optional field)."""
    data: dict[str, Any] = {}
    for key, value in request.form.items():
        if key == "csrf_token" or (names is not None and key not in names):
            continue
        value = value.strip()
        data[key] = value if value != "" else None
    return data


def _blank_as(schema: Schema, raw: dict[str, Any]) -> dict[str, Any]:
    """What a blank input means to the schema.

    A required or nullable field gets None ("This field is required." or a cleared value);
    an optional text field that may not be null is cleared to ""; any other optional field
    is left out so that its default applies.
    """
    data: dict[str, Any] = {}
    for key, value in raw.items():
        field = schema.fields.get(key)
        if value is not None or field is None or field.required or field.allow_none:
            data[key] = value
        elif isinstance(field, fields.String):
            data[key] = ""
    return data


def load_form(schema: Schema, *, partial: bool = False) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, Any]]:
    """Validate the posted form: (data or None, {field: message}, raw values to re-show)."""
    raw = form_data(set(schema.fields))
    try:
        return schema.load(_blank_as(schema, raw), partial=partial), {}, raw
    except ValidationError as exc:
        return None, first_errors(exc.normalized_messages()), raw


def save(operation: Callable[[], T]) -> tuple[T | None, dict[str, str]]:
    """Run a validating operation and commit; on a ValidationError roll back (nothing
    half-written survives) and return its messages per field instead."""
    try:
        result = operation()
    except ValidationError as exc:
        db.session.rollback()
        return None, first_errors(exc.normalized_messages())
    db.session.commit()
    return result, {}


def import_upload(importer: Callable[[IO[bytes]], list[T]]) -> tuple[list[T] | None, list[RowError]]:
    """Run an all-or-nothing sheet import of the uploaded ``file``: commit it, or roll back
    and return every row error."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, [RowError(0, "", _("Choose an Excel file (.xlsx) to upload."))]
    try:
        created = importer(upload.stream)
    except ImportRejected as rejected:
        db.session.rollback()
        return None, rejected.errors
    db.session.commit()
    return created, []


def flash_errors(errors: dict[str, str], label: Callable[[str], str] | None = None) -> None:
    """Flash every field's error at the top of the next page, "Field: message" with ``label``."""
    for field, message in errors.items():
        flash(f"{label(field)}: {message}" if label else message, "error")
