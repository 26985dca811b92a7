"""/api/v1/calendar: the working-day calendar of a year, and the admin's overrides."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint

from ..api import api_user, token_required
from ..auth.models import Role
from ..extensions import db
from ..timeutil import local_today
from . import calendar, operations
from .models import CalendarDay
from .schemas import CalendarYearSchema, DayRangeInput, OverrideSchema, YearQuery

blp = Blueprint("calendar_api", __name__, url_prefix="/api/v1/calendar",
                description="Chinese working days: public holidays, worked weekends and the admin's overrides")
BEARER = [{"bearerAuth": []}]


@blp.route("/holidays")
class Holidays(MethodView):
    @token_required()
    @blp.arguments(YearQuery, location="query")
    @blp.response(200, CalendarYearSchema)
    @blp.doc(security=BEARER)
    def get(self, params):
        """A year's days off and worked weekend days, with their source and the year's coverage.

        `coverage` is `package` (chinese-calendar has the year; overrides still win),
        `overrides` (only the days entered by the admin: other weekends off, weekdays worked)
        or `none`: the working days of the year are unknown, `days` is empty and deadlines in
        that year cannot be computed until an admin enters the year's holidays.
        """
        year = params["year"] or local_today().year
        cal = calendar.current()
        coverage = cal.coverage(year)
        covered = coverage != calendar.Coverage.none
        return {
            "year": year,
            "coverage": coverage.value,
            "package_covers": calendar.package_covers(year),
            "override_count": len(cal.overrides(year)),
            "message": None if covered else calendar.CalendarNotCovered(year).message,
            "days": cal.special_days(year) if covered else [],
        }

    @token_required(Role.admin)
    @blp.arguments(DayRangeInput)
    @blp.response(201, OverrideSchema(many=True))
    @blp.alt_response(422, description="Invalid fields, or a date that already has an entry (problem details)")
    @blp.doc(security=BEARER)
    def post(self, data):
        """Enter a day off or a worked weekend day, or a range of them (admins).

        Every date of the range is stored, or none: a date that already has an entry is refused.
        """
        created = operations.add_days(api_user(), data["entries"], source="api")
        db.session.commit()
        return created


@blp.route("/holidays/<day>")
class HolidayByDate(MethodView):
    @token_required(Role.admin)
    @blp.response(204)
    @blp.alt_response(404, description="No entry for that date")
    @blp.doc(security=BEARER)
    def delete(self, day: str):
        """Delete the entry for a date (YYYY-MM-DD); the date follows the package or weekdays again (admins)."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            abort(404)
        row = db.session.scalar(sa.select(CalendarDay).where(CalendarDay.day == parsed))
        if row is None:
            abort(404)
        operations.delete_day(api_user(), row)
        db.session.commit()
