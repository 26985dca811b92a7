"""/api/v1/calendar: the working-day calendar of a year, and the admin's overrides."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint

from emergency.core.api import api_user, token_required
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.core.timeutil import local_today
from emergency.workdays import calendar, operations, rules
from emergency.workdays.models import CalendarDay
from emergency.workdays.schemas import CalendarYearSchema, DayRangeInput, OverrideSchema, YearQuery, YearStatusSchema

blp = Blueprint("calendar_api", __name__, url_prefix="/api/v1/calendar",
                description="Chinese working days: public holidays, worked weekends and the admin's overrides")


@blp.route("/holidays")
class Holidays(MethodView):
    @token_required()
    @blp.arguments(YearQuery, location="query")
    @blp.response(200, CalendarYearSchema)
    def get(self, params):
        """A year's days off and worked weekend days, with their source and the year's coverage.

        `coverage` is `package` (chinese-calendar has the year; overrides still win),
        `notice` (the admin entered the year's notice and marked it complete), `overrides`
        (some days entered, not marked complete) or `none` (nothing entered). Only `package`
        and `notice` are `confirmed`; in other years deadlines are provisional (暂定): counted on
        ordinary weekends plus the entries, and recounted when the year is confirmed.
        """
        year = params["year"] or local_today().year
        cal = calendar.current()
        coverage = cal.coverage(year)
        return {
            "year": year,
            "coverage": coverage.value,
            "confirmed": coverage.confirmed,
            "package_covers": calendar.package_covers(year),
            "override_count": len(cal.overrides(year)),
            "usual_holidays": [{"name": name, "entered": entered} for name, entered in cal.usual_holidays(year)],
            "message": None if coverage.confirmed else calendar.provisional_note(year),
            "days": cal.special_days(year),
        }

    @token_required(Role.admin)
    @blp.arguments(DayRangeInput)
    @blp.response(201, OverrideSchema(many=True))
    @blp.alt_response(422, description="Invalid fields, or a date that already has an entry (problem details)")
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


@blp.route("/years/<int:year>/complete")
class YearComplete(MethodView):
    @token_required(Role.admin)
    @blp.response(200, YearStatusSchema)
    @blp.alt_response(404, description="A year outside 2004–2099")
    @blp.alt_response(422, description="The package covers the year, no day off is entered, or it is complete already")
    def post(self, year: int):
        """Mark the year's notice as entered completely (通知已全部录入): the year is confirmed (admins).

        Every open clock that touches the year is then recounted in the worker: changes are
        audited with the old and new date and each enterprise whose deadline moved is told once.
        """
        return _year_change(year, operations.complete_year)

    @token_required(Role.admin)
    @blp.response(200, YearStatusSchema)
    @blp.alt_response(404, description="A year outside 2004–2099")
    @blp.alt_response(422, description="The year is not marked complete")
    def delete(self, year: int):
        """Take the completion back: the year's deadlines are provisional again (admins)."""
        return _year_change(year, operations.reopen_year)


def _year_change(year: int, operation):
    if not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        abort(404)
    row = operation(api_user(), year)
    db.session.commit()
    return row
