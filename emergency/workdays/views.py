"""The calendar page: overrides of a year, adding (one day, a range, a pasted notice), editing, deleting."""
from __future__ import annotations

from datetime import date
from importlib.metadata import version

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from emergency.core.access import OFFICERS, require_roles
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.core.timeutil import local_today
from emergency.core.validation import localise_errors, year_arg
from emergency.core.forms import flash_errors, load_form, save
from emergency.workdays import calendar, operations, rules
from emergency.workdays.models import DAY_KIND_LABELS, CalendarDay, CalendarYear
from emergency.workdays.schemas import DayEditForm, DayRangeForm, NoticeForm

bp = Blueprint("workdays", __name__, url_prefix="/admin/calendar")

KIND_OPTIONS = [(kind.value, label) for kind, label in DAY_KIND_LABELS.items()]
NOTICE_EXAMPLE = "2027-01-01 2027-01-03 元旦 holiday\n2027-02-06 2027-02-14 春节 holiday\n2027-02-20 workday 春节调休"


def _year_arg() -> int:
    year = request.args.get("year", type=year_arg) or local_today().year
    if not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        abort(404)
    return year


def _overrides(year: int) -> list[CalendarDay]:
    return db.session.scalars(
        sa.select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    ).all()


def _coverage_rows(years: list[int]) -> list[dict]:
    cal = calendar.current()
    return [{"year": year, "coverage": cal.coverage(year).value, "overrides": len(cal.overrides(year)),
             "usual": cal.usual_holidays(year)} for year in years]


def _page(year: int, *, status: int = 200, add_values: dict | None = None, add_errors: dict | None = None,
          notice_text: str = "", notice_errors: list[str] | None = None):
    cal = calendar.current()
    today = local_today()
    coverage = cal.coverage(year)
    return render_template(
        "workdays/calendar.html", year=year, coverage=coverage.value, confirmed=coverage.confirmed, today=today,
        status_rows=_coverage_rows(sorted({today.year, today.year + 1, year})),
        overrides=_overrides(year),
        usual=cal.usual_holidays(year),
        year_row=db.session.get(CalendarYear, year),
        special=cal.special_days(year),
        months=[(format_date(date(year, month, 1), "LLLL"), cal.month_weeks(year, month))
                for month in range(1, 13)],
        package_version=version("chinesecalendar"),
        kinds=KIND_OPTIONS,
        add_values=add_values or {}, add_errors=add_errors or {},
        notice_text=notice_text, notice_errors=notice_errors or [], notice_example=NOTICE_EXAMPLE,
        can_edit=current_user.role == Role.admin,
    ), status


@bp.app_template_filter("weekday")
def weekday_filter(day: date) -> str:
    return rules.weekday_name(day)


@bp.route("")
@require_roles(*OFFICERS)
def calendar_page():
    return _page(_year_arg())


@bp.route("/days", methods=["POST"])
@require_roles(Role.admin)
def day_add():
    data, errors, values = load_form(DayRangeForm())
    year = data["date"].year if data else _year_arg()
    if data is not None:
        created, errors = save(lambda: operations.add_days(current_user, data["entries"]))
        if not errors:
            flash(_("%(n)s day(s) entered.", n=len(created)), "success")
            return redirect(url_for(".calendar_page", year=year))
    return _page(year, status=422, add_values=values, add_errors=errors)


@bp.route("/notice", methods=["POST"])
@require_roles(Role.admin)
def notice_add():
    text = request.form.get("lines", "")
    try:
        entries = NoticeForm().load({"lines": text})["lines"]
        created = operations.add_days(current_user, entries, source="notice")
    except ValidationError as exc:
        db.session.rollback()
        messages = localise_errors(exc.messages).get("lines", [])
        return _page(_year_arg(), status=422, notice_text=text,
                     notice_errors=messages if isinstance(messages, list) else [messages])
    db.session.commit()
    years = sorted({row.day.year for row in created})
    flash(_("%(n)s day(s) entered for %(years)s.", n=len(created), years=", ".join(map(str, years))), "success")
    return redirect(url_for(".calendar_page", year=years[0]))


@bp.route("/days/<int:day_id>", methods=["GET", "POST"])
@require_roles(Role.admin)
def day_edit(day_id: int):
    row = db.get_or_404(CalendarDay, day_id)
    errors: dict[str, str] = {}
    values: dict = {"kind": row.kind.value, "name": row.name}
    if request.method == "POST":
        data, errors, values = load_form(DayEditForm())
        if data is not None:
            changes, errors = save(lambda: operations.update_day(current_user, row, data))
            if not errors:
                flash(_("Saved.") if changes else _("Nothing was changed."), "success")
                return redirect(url_for(".calendar_page", year=row.day.year))
    return render_template("workdays/day_form.html", row=row, values=values, errors=errors,
                           weekday=rules.weekday_name(row.day),
                           kinds=KIND_OPTIONS), (422 if errors else 200)


@bp.route("/days/<int:day_id>/delete", methods=["POST"])
@require_roles(Role.admin)
def day_delete(day_id: int):
    row = db.get_or_404(CalendarDay, day_id)
    day = row.day
    operations.delete_day(current_user, row)
    db.session.commit()
    flash(_("The entry for %(date)s was deleted.", date=day.isoformat()), "success")
    return redirect(url_for(".calendar_page", year=day.year))


def _year_change(year: int, operation, done: str, category: str):
    if not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        abort(404)
    _row, errors = save(lambda: operation(current_user, year))
    flash_errors(errors)
    if not errors:
        flash(done, category)
    return redirect(url_for(".calendar_page", year=year))


@bp.route("/years/<int:year>/complete", methods=["POST"])
@require_roles(Role.admin)
def year_complete(year: int):
    """通知已全部录入: the year is confirmed; every open clock that touches it is recounted."""
    return _year_change(year, operations.complete_year, _(
        "The holidays of %(year)s are confirmed. Open deadlines are being recounted; enterprises whose "
        "deadline moved are told by SMS.", year=str(year)), "success")


@bp.route("/years/<int:year>/reopen", methods=["POST"])
@require_roles(Role.admin)
def year_reopen(year: int):
    """Take the completion back: deadlines in the year are provisional again."""
    return _year_change(year, operations.reopen_year,
                        _("%(year)s is provisional again until it is marked complete.", year=str(year)), "warning")
