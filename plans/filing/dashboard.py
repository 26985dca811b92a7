"""The figures of the officer's plans dashboard: filing rates, the bureau's waiting decisions,
overdue filings and plans due for their three-yearly evaluation, for the whole county or
narrowed to a township and/or an industry (``Scope``); the lists are paged.

The rates come from one GROUP BY query over the enterprises that must file, with correlated
EXISTS subqueries on the (indexed) filing table, so that the cost does not grow with a query
per enterprise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township
from plans.plan.models import Plan, PlanVersion, VersionStatus
from plans.plan.operations import evaluation_due

from plans.filing.models import FILED, Filing, FilingStatus

#: Plans due for evaluation within this many days are listed (overdue ones always are).
EVALUATION_HORIZON_DAYS = 90
#: Bar colours: green from 90 %, amber from 60 %, red below.
GREEN_FROM, AMBER_FROM = 90, 60
MUST_FILE_CODES = tuple(sorted(industries.HIGH_RISK_CODES | industries.CROWDED_CODES))
#: Rows per page of the waiting, overdue and evaluation lists.
LIST_PAGE_SIZE = 50

T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """What the dashboard counts: every enterprise, or those of a township and/or an industry."""

    township_id: int | None = None
    industry: str | None = None

    def apply(self, query: sa.Select) -> sa.Select:
        """Narrow a select that has ``Enterprise`` among its tables."""
        if self.township_id is not None:
            query = query.where(Enterprise.township_id == self.township_id)
        if self.industry is not None:
            query = query.where(Enterprise.industry == self.industry)
        return query


@dataclass
class Page(Generic[T]):
    """One page of a list, with the whole list's size (the names of Flask-SQLAlchemy's Pagination)."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _page_of(query: sa.Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, int(total or 0), page, per_page)


@dataclass
class Rate:
    label: str
    must_file: int = 0
    filed: int = 0

    @property
    def percent(self) -> float | None:
        return 100.0 * self.filed / self.must_file if self.must_file else None

    @property
    def rounded(self) -> int | None:
        """The rate as a whole percent (rounded down, so 89.9 % never shows as a green 90 %)."""
        return None if self.must_file == 0 else (100 * self.filed) // self.must_file

    @property
    def colour(self) -> str:
        pct = self.percent
        if pct is None:
            return "none"
        return "green" if pct >= GREEN_FROM else "amber" if pct >= AMBER_FROM else "red"


@dataclass
class EvaluationDue:
    plan: Plan
    due: date
    days: int  # calendar days until due; negative when overdue


@dataclass
class Dashboard:
    overall: Rate
    by_township: list[Rate] = field(default_factory=list)
    by_industry: list[Rate] = field(default_factory=list)
    waiting: Page[Filing] | None = None
    overdue: Page[Filing] | None = None
    evaluations: Page[EvaluationDue] | None = None


def _must_file():
    return sa.and_(Enterprise.active.is_(True), Enterprise.industry.in_(MUST_FILE_CODES))


def filed_condition(today: date):
    """SQL: the enterprise has a filed filing and no open filing past its deadline."""
    has_filed = sa.exists().where(Filing.enterprise_id == Enterprise.id, Filing.status.in_(list(FILED)))
    late_open = sa.exists().where(Filing.enterprise_id == Enterprise.id, sa.or_(
        sa.and_(Filing.status.in_([FilingStatus.due, FilingStatus.returned]), Filing.submit_by < today),
        sa.and_(Filing.status == FilingStatus.submitted, Filing.decide_by < today)))
    return sa.and_(has_filed, ~late_open)


def rate_counts(today: date, scope: Scope = Scope()) -> list[tuple[int, str, int, int]]:
    """(township id, industry code, must file, filed) for every pair that has enterprises."""
    filed = sa.func.sum(sa.case((filed_condition(today), 1), else_=0))
    rows = db.session.execute(scope.apply(
        sa.select(Enterprise.township_id, Enterprise.industry, sa.func.count(Enterprise.id), filed)
        .where(_must_file())).group_by(Enterprise.township_id, Enterprise.industry)).all()
    return [(t, i, int(n), int(f or 0)) for t, i, n, f in rows]


def filing_rates(today: date, locale: str = "zh", scope: Scope = Scope()) -> tuple[Rate, list[Rate], list[Rate]]:
    townships = db.session.execute(sa.select(Township.id, Township.name).order_by(Township.id)).all()
    by_township = {tid: Rate(name) for tid, name in townships}
    by_industry = {code: Rate(industries.BY_CODE[code].label(locale)) for code in
                   (i.code for i in industries.INDUSTRIES if i.code in MUST_FILE_CODES)}
    overall = Rate("")
    for township_id, industry, must_file, filed in rate_counts(today, scope):
        for rate in (overall, by_township.get(township_id), by_industry.get(industry)):
            if rate is not None:
                rate.must_file += must_file
                rate.filed += filed
    return (overall, [r for r in by_township.values() if r.must_file],
            [r for r in by_industry.values() if r.must_file])


def waiting_filings(scope: Scope = Scope(), page: int = 1, per_page: int = LIST_PAGE_SIZE) -> Page[Filing]:
    """Submitted, the bureau's clock running: soonest deadline first."""
    return _page_of(_filings(scope).where(Filing.status == FilingStatus.submitted)
                    .order_by(Filing.decide_by, Filing.id), page, per_page)


def overdue_filings(today: date, scope: Scope = Scope(), page: int = 1,
                    per_page: int = LIST_PAGE_SIZE) -> Page[Filing]:
    """Not (re)submitted within 20 working days of publication."""
    return _page_of(_filings(scope).where(
        Filing.status.in_([FilingStatus.due, FilingStatus.returned]), Filing.submit_by < today)
        .order_by(Filing.submit_by, Filing.id), page, per_page)


def _filings(scope: Scope) -> sa.Select:
    query = sa.select(Filing).join(Enterprise, Filing.enterprise_id == Enterprise.id)
    return scope.apply(query).options(joinedload(Filing.enterprise),
                                      joinedload(Filing.version).joinedload(PlanVersion.plan))


def evaluations_due(today: date, horizon_days: int = EVALUATION_HORIZON_DAYS, scope: Scope = Scope(),
                    page: int = 1, per_page: int = LIST_PAGE_SIZE) -> Page[EvaluationDue]:
    """Published plans of enterprises that must evaluate, due within the horizon or overdue.

    The due date depends on each plan's evaluations and signing dates, so the list is found
    in Python and paged afterwards.
    """
    plans = db.session.scalars(scope.apply(
        sa.select(Plan).join(Enterprise, Plan.enterprise_id == Enterprise.id)
        .where(Plan.active.is_(True), _must_file(),
               sa.exists().where(PlanVersion.plan_id == Plan.id, PlanVersion.status == VersionStatus.published))
        .options(joinedload(Plan.enterprise), joinedload(Plan.versions)).order_by(Plan.id))).unique().all()
    limit = today + timedelta(days=horizon_days)
    result = []
    for plan in plans:
        due = evaluation_due(plan)
        if due is not None and due <= limit:
            result.append(EvaluationDue(plan, due, (due - today).days))
    result.sort(key=lambda item: (item.due, item.plan.id))
    start = (page - 1) * per_page
    return Page(result[start:start + per_page], len(result), page, per_page)


def dashboard(today: date, locale: str = "zh", scope: Scope = Scope(), pages: dict[str, int] | None = None,
              per_page: int | None = None) -> Dashboard:
    """Every figure of the dashboard within ``scope``; ``pages`` picks the page of each list."""
    pages = pages or {}
    per_page = per_page or LIST_PAGE_SIZE
    overall, by_township, by_industry = filing_rates(today, locale, scope)
    return Dashboard(overall=overall, by_township=by_township, by_industry=by_industry,
                     waiting=waiting_filings(scope, pages.get("waiting", 1), per_page),
                     overdue=overdue_filings(today, scope, pages.get("overdue", 1), per_page),
                     evaluations=evaluations_due(today, scope=scope, page=pages.get("evaluations", 1),
                                                 per_page=per_page))
