"""Jinja filters and globals used by every page."""
from __future__ import annotations

from datetime import datetime

import phonenumbers
from flask import Flask, request, url_for
from flask_babel import format_datetime
from markupsafe import Markup, escape

from emergency.core.timeutil import to_local
from emergency.workdays.calendar import provisional_note


def local_time(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """Show a stored UTC time in Asia/Shanghai."""
    if value is None:
        return ""
    return format_datetime(to_local(value), fmt)


def phone(value: str | None) -> str:
    """Show an E.164 mainland number the way people read it (138 0013 8000)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return value
    if number.country_code == 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def provisional(year: int | None) -> Markup:
    """The mark beside a provisional deadline: "暂定（2027 年节假日安排尚未录入）"; nothing when final."""
    if year is None:
        return Markup("")
    return Markup('<span class="tag provisional" data-provisional-year="%s">%s</span>') % (year, escape(
        provisional_note(year)))


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["phone"] = phone
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["provisional"] = provisional
