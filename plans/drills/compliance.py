"""The figures of the officers' drill compliance dashboard: completion rates, overdue drills and
the heat map of enterprises by month.

Completion rate = done / (done + overdue) over the occurrences whose window ended in the period
(before today: an open window is neither done nor missed yet); excused occurrences count for
neither side. Only active enterprises count. Every figure is one aggregate query (rates: per
enterprise, then GROUP BY township and industry; heat map: GROUP BY enterprise and month over
``status_sql``), so the cost does not grow with a query per enterprise.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township
from emergency.core.validation import BaseSchema
from plans.plan.models import Plan

from plans.drills.models import OBLIGATION_LABELS, DrillCycle, Occurrence, status_sql

#: Bar colours: green from 90 %, amber from 60 %, red below (as on the plans dashboard).
GREEN_FROM, AMBER_FROM = 90, 60
OVERDUE_PER_PAGE = 50
HEATMAP_PER_PAGE = 50

#: Heat map cell states, worst first: the worst status of a month's occurrences wins.
CELL_RANK = {"overdue": 4, "due": 3, "upcoming": 2, "done": 1}
CELL_BY_RANK = {rank: state for state, rank in CELL_RANK.items()}
CELL_LABELS = {"overdue": _l("Overdue"), "due": _l("Due"), "upcoming": _l("Upcoming"), "done": _l("Done"),
               "none": _l("No drill planned")}
#: One letter per state, so the map does not rely on colour alone.
CELL_LETTERS = {"overdue": _l("O"), "due": _l("N"), "upcoming": _l("U"), "done": _l("D"), "none": "·"}
#: The Excel export always speaks Chinese (as every sheet of the system does).
CELL_LETTERS_ZH = {"overdue": "逾", "due": "到", "upcoming": "待", "done": "完", "none": ""}


class DashboardQuery(BaseSchema):
    """The dashboard's query string: a period (a year, or a quarter or month of it), filters, pages."""

    year = fields.Integer(validate=validate.Range(2000, 2100))
    quarter = fields.Integer(validate=validate.Range(1, 4))
    month = fields.Integer(validate=validate.Range(1, 12))
    township_id = fields.Integer(validate=validate.Range(min=1))
    industry = fields.String(validate=validate.OneOf([i.code for i in industries.INDUSTRIES]))
    page = fields.Integer(validate=validate.Range(min=1))
    hpage = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def one_period(self, data, **_kwargs):
        if data.get("quarter") and data.get("month"):
            raise ValidationError({"month": [_("Choose a quarter or a month, not both.")]})


@dataclass(frozen=True)
class Period:
    year: int
    quarter: int | None
    month: int | None
    start: date
    end: date
    #: The last day counted: the period's end, or yesterday when the period runs on.
    counted_until: date

    @property
    def label(self) -> str:
        if self.month:
            return _("Month %(month)s of %(year)s", year=self.year, month=self.month)
        if self.quarter:
            return _("Q%(quarter)s %(year)s", year=self.year, quarter=self.quarter)
        return str(self.year)


def period_of(params: dict[str, Any], today: date) -> Period:
    """The selected period; by default this year to date."""
    year = params.get("year") or today.year
    quarter, month = params.get("quarter"), params.get("month")
    if month:
        start = date(year, month, 1)
        end = date(year, month, calendar.monthrange(year, month)[1])
    elif quarter:
        start = date(year, 3 * quarter - 2, 1)
        end_month = 3 * quarter
        end = date(year, end_month, calendar.monthrange(year, end_month)[1])
    else:
        start, end = date(year, 1, 1), date(year, 12, 31)
    return Period(year, quarter, month, start, end, min(end, today - timedelta(days=1)))


@dataclass
class Rate:
    label: str
    key: Any = None
    done: int = 0
    overdue: int = 0

    @property
    def counted(self) -> int:
        return self.done + self.overdue

    @property
    def rounded(self) -> int | None:
        """The rate as a whole percent, rounded down (89.9 % never shows as a green 90 %)."""
        return None if not self.counted else (100 * self.done) // self.counted

    @property
    def colour(self) -> str:
        if not self.counted:
            return "none"
        pct = 100.0 * self.done / self.counted
        return "green" if pct >= GREEN_FROM else "amber" if pct >= AMBER_FROM else "red"


@dataclass
class Rates:
    overall: Rate
    by_township: list[Rate] = field(default_factory=list)
    by_industry: list[Rate] = field(default_factory=list)


def _enterprise_filters(params: dict[str, Any]) -> list:
    conditions = [Enterprise.active.is_(True)]
    if params.get("township_id"):
        conditions.append(Enterprise.township_id == params["township_id"])
    if params.get("industry"):
        conditions.append(Enterprise.industry == params["industry"])
    return conditions


def _ended_in(period: Period):
    return sa.and_(Occurrence.window_end >= period.start, Occurrence.window_end <= period.counted_until)


def overdue_condition(today: date):
    """``status_sql(today) == "overdue"`` spelled out, so that the index of open occurrences
    (``ix_drill_occurrence_open_window_end``: drill_id, excused_at, window_end) serves it."""
    return sa.and_(Occurrence.drill_id.is_(None), Occurrence.excused_at.is_(None), Occurrence.window_end < today)


def rate_counts(period: Period, today: date, params: dict[str, Any]) -> list[tuple[int, str, int, int]]:
    """(township id, industry code, done, overdue) over the occurrences whose window ended in the period.

    Two levels: occurrences are counted per enterprise (reading only the index
    ``ix_drill_occurrence_enterprise_window``), then the at most a few thousand enterprise rows
    are summed by township and industry. ``status_sql`` is spelled out as its two branches that
    matter here (done: a drill; overdue: ``overdue_condition``), which halves the work per row on
    SQLite; tests check both against ``status_sql``.
    """
    per_enterprise = (sa.select(Occurrence.enterprise_id.label("enterprise_id"),
                                sa.func.count(Occurrence.drill_id).label("done"),
                                sa.func.sum(sa.case((overdue_condition(today), 1), else_=0)).label("overdue"))
                      .where(_ended_in(period)).group_by(Occurrence.enterprise_id))
    if params.get("township_id") or params.get("industry"):
        per_enterprise = per_enterprise.where(Occurrence.enterprise_id.in_(
            sa.select(Enterprise.id).where(*_enterprise_filters(params))))
    counts = per_enterprise.subquery()
    rows = db.session.execute(
        sa.select(Enterprise.township_id, Enterprise.industry, sa.func.sum(counts.c.done), sa.func.sum(counts.c.overdue))
        .join(counts, counts.c.enterprise_id == Enterprise.id).where(*_enterprise_filters(params))
        .group_by(Enterprise.township_id, Enterprise.industry)).all()
    return [(t, i, int(d or 0), int(o or 0)) for t, i, d, o in rows]


def rates(period: Period, today: date, params: dict[str, Any], locale: str = "zh") -> Rates:
    townships = db.session.execute(sa.select(Township.id, Township.name).order_by(Township.id)).all()
    by_township = {tid: Rate(name, tid) for tid, name in townships}
    by_industry = {i.code: Rate(i.label(locale), i.code) for i in industries.INDUSTRIES}
    overall = Rate("")
    for township_id, industry, done, overdue in rate_counts(period, today, params):
        for rate in (overall, by_township.get(township_id), by_industry.get(industry)):
            if rate is not None:
                rate.done += done
                rate.overdue += overdue
    return Rates(overall, [r for r in by_township.values() if r.counted],
                 [r for r in by_industry.values() if r.counted])


# --- the overdue list --------------------------------------------------------------------------------

def _overdue_where(period: Period, today: date, params: dict[str, Any]) -> list:
    return [_ended_in(period), overdue_condition(today), *_enterprise_filters(params)]


def overdue_select(period: Period, today: date, params: dict[str, Any]):
    """Overdue occurrences whose window ended in the period, oldest window first, with what a row shows."""
    return (sa.select(Occurrence.id, Occurrence.enterprise_id, Enterprise.name.label("enterprise"),
                      Township.name.label("township"), Enterprise.industry, DrillCycle.name.label("cycle"),
                      Occurrence.obligation, Plan.title.label("plan_title"), Occurrence.due_on,
                      Occurrence.window_start, Occurrence.window_end)
            .select_from(Occurrence).join(Enterprise, Enterprise.id == Occurrence.enterprise_id)
            .join(Township, Township.id == Enterprise.township_id)
            .outerjoin(DrillCycle, DrillCycle.id == Occurrence.cycle_id)
            .outerjoin(Plan, Plan.id == Occurrence.plan_id)
            .where(*_overdue_where(period, today, params))
            .order_by(Occurrence.window_end, Occurrence.enterprise_id, Occurrence.id))


def drill_title(row) -> str:
    if row.cycle is not None:
        return row.cycle
    label = str(OBLIGATION_LABELS.get(row.obligation or "", row.obligation or ""))
    return f"{label}：{row.plan_title}" if row.plan_title else label


@dataclass
class OverduePage:
    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def overdue_page(period: Period, today: date, params: dict[str, Any], page: int = 1,
                 per_page: int = OVERDUE_PER_PAGE, total: int | None = None) -> OverduePage:
    """A page of the overdue list; ``total`` when already known (the rates count the same rows)."""
    if total is None:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence)
                                  .join(Enterprise, Enterprise.id == Occurrence.enterprise_id)
                                  .where(*_overdue_where(period, today, params)))
    rows = db.session.execute(overdue_select(period, today, params).limit(per_page)
                              .offset((page - 1) * per_page)).all()
    return OverduePage(rows, int(total or 0), page, per_page)


# --- the heat map ------------------------------------------------------------------------------------

@dataclass
class HeatRow:
    enterprise_id: int
    name: str
    township: str
    industry: str
    #: 12 states, January first.
    cells: list[str]


@dataclass
class HeatMap:
    year: int
    rows: list[HeatRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _enterprise_select(params: dict[str, Any]):
    return (sa.select(Enterprise.id, Enterprise.name, Township.name.label("township"), Enterprise.industry)
            .join(Township, Township.id == Enterprise.township_id)
            .where(*_enterprise_filters(params)).order_by(Enterprise.name, Enterprise.id))


def month_cells(year: int, today: date, enterprise_ids: list[int] | None,
                params: dict[str, Any]) -> dict[int, list[str]]:
    """{enterprise id: 12 cell states} in one GROUP BY (enterprise, month) query.

    An occurrence belongs to the month of its planned day (``due_on``); excused ones are left out.
    """
    status = status_sql(today)
    rank = sa.case(*((status == state, value) for state, value in CELL_RANK.items()), else_=0)
    month = sa.extract("month", Occurrence.due_on)
    query = (sa.select(Occurrence.enterprise_id, month, sa.func.max(rank))
             .where(Occurrence.due_on >= date(year, 1, 1), Occurrence.due_on <= date(year, 12, 31))
             .group_by(Occurrence.enterprise_id, month))
    if enterprise_ids is not None:
        query = query.where(Occurrence.enterprise_id.in_(enterprise_ids))
    else:
        query = query.join(Enterprise, Enterprise.id == Occurrence.enterprise_id).where(*_enterprise_filters(params))
    cells: dict[int, list[str]] = {}
    for enterprise_id, month_number, worst in db.session.execute(query):
        row = cells.setdefault(enterprise_id, ["none"] * 12)
        row[int(month_number) - 1] = CELL_BY_RANK.get(int(worst or 0), "none")
    return cells


def heat_map(year: int, today: date, params: dict[str, Any], page: int = 1, per_page: int = HEATMAP_PER_PAGE,
             locale: str = "zh") -> HeatMap:
    query = _enterprise_select(params)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.with_only_columns(Enterprise.id).order_by(None).subquery()))
    enterprises = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    cells = month_cells(year, today, [e.id for e in enterprises], params)
    rows = [HeatRow(e.id, e.name, e.township, industries.BY_CODE.get(e.industry, industries.BY_CODE["other"])
                    .label(locale), cells.get(e.id, ["none"] * 12)) for e in enterprises]
    return HeatMap(year, rows, int(total or 0), page, per_page)


def heat_map_all(year: int, today: date, params: dict[str, Any]) -> list[HeatRow]:
    """Every enterprise of the filters (for the export): two queries, whatever the count."""
    enterprises = db.session.execute(_enterprise_select(params)).all()
    cells = month_cells(year, today, None, params)
    return [HeatRow(e.id, e.name, e.township, industries.BY_CODE.get(e.industry, industries.BY_CODE["other"]).name_zh,
                    cells.get(e.id, ["none"] * 12)) for e in enterprises]
