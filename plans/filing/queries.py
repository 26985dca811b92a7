"""The filing queue and the figures of the officer's dashboard."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from emergency.core.access import scope_to_user
from emergency.auth.models import User
from emergency.core.extensions import db

from plans.filing.models import Filing, FilingStatus
from plans.plan.models import PlanVersion
from emergency.core.timeutil import local_today


@dataclass
class Queue:
    #: Submitted, the bureau's 5-working-day clock running: soonest deadline first.
    waiting: list[Filing] = field(default_factory=list)
    #: Not (re)submitted yet; overdue ones first.
    to_submit: list[Filing] = field(default_factory=list)
    overdue: list[Filing] = field(default_factory=list)
    #: The latest decisions.
    decided: list[Filing] = field(default_factory=list)


def filing_queue(user: User, today: date, decided_limit: int = 50) -> Queue:
    # Each row shows its enterprise and its plan's title: loaded with the filings, not per row.
    base = scope_to_user(sa.select(Filing), user, Filing.enterprise_id).options(
        joinedload(Filing.enterprise), joinedload(Filing.version).joinedload(PlanVersion.plan))
    queue = Queue()
    queue.waiting = db.session.scalars(base.where(Filing.status == FilingStatus.submitted)
                                       .order_by(Filing.decide_by, Filing.id)).all()
    open_ = db.session.scalars(base.where(Filing.status.in_([FilingStatus.due, FilingStatus.returned]))
                               .order_by(Filing.submit_by, Filing.id)).all()
    queue.overdue = [f for f in open_ if f.submit_by < today]
    queue.to_submit = [f for f in open_ if f.submit_by >= today]
    queue.decided = db.session.scalars(base.where(Filing.status.in_([FilingStatus.accepted, FilingStatus.deemed_filed]))
                                       .order_by(Filing.decided_at.desc()).limit(decided_limit)).all()
    return queue


def filing_select(user: User, params: dict) -> sa.Select:
    """Filings the user may see (officers: all; enterprise users: their own), newest first."""
    query = scope_to_user(sa.select(Filing), user, Filing.enterprise_id)
    if params.get("status"):
        query = query.where(Filing.status == FilingStatus(params["status"]))
    if params.get("enterprise_id"):
        query = query.where(Filing.enterprise_id == params["enterprise_id"])
    if params.get("overdue") is not None:

        late = sa.and_(Filing.status.in_([FilingStatus.due, FilingStatus.returned]), Filing.submit_by < local_today())
        query = query.where(late if params["overdue"] else ~late)
    return query.order_by(Filing.id.desc())
