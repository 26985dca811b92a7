"""Helpers for HTML forms validated by marshmallow schemas."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from ..validation import first_errors


def form_data(fields: set[str] | None = None) -> dict[str, Any]:
    """The posted form with blank inputs as None (a cleared optional field)."""
    data: dict[str, Any] = {}
    for key, value in request.form.items():
        if key == "csrf_token" or (fields is not None and key not in fields):
            continue
        value = value.strip()
        data[key] = value if value != "" else None
    return data


def load_form(schema: Schema, *, partial: bool = False) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, Any]]:
    """Validate the posted form: (data or None, {field: message}, raw values to re-show)."""
    raw = form_data(set(schema.fields))
    try:
        return schema.load(raw, partial=partial), {}, raw
    except ValidationError as exc:
        return None, first_errors(exc.messages), raw
