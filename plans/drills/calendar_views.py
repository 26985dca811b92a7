"""Pages: the drill calendar (month and week) and calendar feeds (ICS subscriptions).

Enterprise users see their own enterprise only; officers see the county, filtered by township,
industry or enterprise. Dates are Asia/Shanghai dates. The public feed URL needs no login: its
token is the credential, and a revoked or unknown one answers 404.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from emergency.core.access import EDITORS, check_can_edit_enterprise, require_roles
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township
from emergency.core.timeutil import local_today
from emergency.core.validation import first_errors
from emergency.core.forms import load_form, save

from plans.drills import calendar_queries as queries
from plans.drills import feeds
from plans.drills.calendar_schemas import CalendarQuery, FeedForm
from plans.drills.models import OCCURRENCE_STATUS_LABELS, CalendarFeed

bp = Blueprint("drill_calendar", __name__)

#: Items a day cell shows before "+N more" (the week view has room for more).
MONTH_PER_DAY = 4
WEEK_PER_DAY = 40


def _params() -> tuple[dict[str, Any], dict[str, str]]:
    """Validated calendar parameters; invalid ones are dropped and reported."""
    raw = {k: v for k, v in request.args.items() if v != ""}
    try:
        params, errors = CalendarQuery().load(raw), {}
    except ValidationError as exc:
        errors = first_errors(exc.messages)
        params = CalendarQuery().load({k: v for k, v in raw.items() if k not in exc.messages})
    if not current_user.is_officer:  # an enterprise user's calendar is its own, whatever is asked
        params.update(enterprise_id=None, township_id=None, industry=None)
    return params, errors


def _filters(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params.get(k) for k in ("township_id", "industry", "enterprise_id") if params.get(k)}


def _choices() -> dict[str, Any]:
    if not current_user.is_officer:
        return {}
    return {"townships": db.session.scalars(sa.select(Township).order_by(Township.name)).all(),
            "industries": industries.INDUSTRIES,
            "enterprises": db.session.execute(sa.select(Enterprise.id, Enterprise.name)
                                              .where(Enterprise.active.is_(True)).order_by(Enterprise.name)).all()}


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"occurrence_labels": OCCURRENCE_STATUS_LABELS}


@bp.route("/drills/calendar")
@login_required
def month():
    params, errors = _params()
    today = local_today()
    year, number = (int(part) for part in params["month"].split("-")) if params.get("month") else (today.year,
                                                                                                    today.month)
    weeks = queries.month_weeks(year, number)
    first, last = weeks[0][0], weeks[-1][-1]
    filters = _filters(params)
    occurrences = queries.occurrences_by_day(current_user, filters, first, last, today, MONTH_PER_DAY)
    drills = queries.drills_by_day(current_user, filters, first, last, MONTH_PER_DAY)
    prev, nxt = _shift_month(year, number, -1), _shift_month(year, number, 1)
    return render_template("drills/calendar_month.html", weeks=weeks, year=year, month=number, today=today,
                           month_start=date(year, number, 1),
                           occurrences=occurrences, drills=drills, params=params, errors=errors, filters=filters,
                           prev_month=f"{prev[0]:04d}-{prev[1]:02d}", next_month=f"{nxt[0]:04d}-{nxt[1]:02d}",
                           **_choices())


@bp.route("/drills/calendar/week")
@login_required
def week():
    params, errors = _params()
    today = local_today()
    days = queries.week_days(params.get("start") or today)
    filters = _filters(params)
    occurrences = queries.occurrences_by_day(current_user, filters, days[0], days[-1], today, WEEK_PER_DAY)
    drills = queries.drills_by_day(current_user, filters, days[0], days[-1], WEEK_PER_DAY)
    return render_template("drills/calendar_week.html", days=days, today=today, occurrences=occurrences,
                           drills=drills, params=params, errors=errors, filters=filters,
                           prev_week=days[0] - timedelta(days=7), next_week=days[0] + timedelta(days=7),
                           **_choices())


# --- calendar feeds ------------------------------------------------------------------------------

def _feed_page(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
               created: tuple[CalendarFeed, str] | None = None, status: int = 200):
    rows = db.session.scalars(feeds.feeds_visible_to(current_user).limit(500)).all()
    enterprises = db.session.execute(sa.select(Enterprise.id, Enterprise.name).where(Enterprise.active.is_(True))
                                     .order_by(Enterprise.name)).all() if current_user.is_officer else []
    return render_template("drills/feeds.html", feeds=rows, errors=errors or {}, values=values or {},
                           created=created, enterprises=enterprises,
                           can_create=current_user.role in (*EDITORS, Role.enterprise)), status


@bp.route("/drills/feeds")
@login_required
def feed_list():
    return _feed_page()


@bp.route("/drills/feeds", methods=["POST"])
@require_roles(*EDITORS, Role.enterprise)
def feed_create():
    data, errors, raw = load_form(FeedForm())
    created = None
    if data is not None:
        created, errors = save(lambda: feeds.create_feed(current_user, data))
    if errors:
        return _feed_page(errors, raw, status=422)
    return _feed_page(created=(created[0], feeds.feed_url(created[1])))


@bp.route("/drills/feeds/<int:feed_id>/revoke", methods=["POST"])
@login_required
def feed_revoke(feed_id: int):
    feed = db.get_or_404(CalendarFeed, feed_id)
    if feed.enterprise_id is None:  # the county's feeds are the bureau's
        if not current_user.is_officer:
            abort(404)
        if current_user.role not in EDITORS:
            abort(403)
    else:
        check_can_edit_enterprise(current_user, feed.enterprise_id)
    if feeds.revoke_feed(current_user, feed):
        flash(_("Feed revoked: its URL no longer works."), "success")
    db.session.commit()
    return redirect(url_for(".feed_list"))


@bp.route("/feeds/drills/<token>.ics")
def feed(token: str):
    """The public subscription URL: no login, the token is the credential."""
    return ics_response(token)


def ics_response(token: str) -> Response:
    found = feeds.feed_for_token(token)
    if found is None:
        abort(404)
    response = Response(feeds.render_ics(found), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="drills.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

