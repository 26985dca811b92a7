"""What filing does when other domains change or ask: a published version opens its filing
(or settles an earlier open one), the calendar's changes recount its clocks, and plan pages
and documents learn a version's filing."""
from __future__ import annotations

import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.core.queue import enqueue_after_commit
from emergency.core.signals import calendar_changed, filing_number, plan_filings, plan_published, version_filing
from plans.filing import operations
from plans.filing.models import FILED, Filing
from plans.plan.models import PlanVersion


@plan_published.connect
def _open_filing(actor, version, **_extra) -> None:
    operations.version_published(actor, version)


@calendar_changed.connect
def _recompute_after_commit(_sender, **_extra) -> None:
    """Once per transaction that changed the calendar: recount every open clock in the worker."""
    enqueue_after_commit("filing.recompute_clocks", once=True)


@version_filing.connect
def _filing_of(version, **_extra) -> Filing | None:
    return db.session.scalar(sa.select(Filing).where(Filing.version_id == version.id))


@plan_filings.connect
def _filings_of(plan, **_extra) -> list[Filing]:
    return db.session.scalars(sa.select(Filing).join(PlanVersion).where(PlanVersion.plan_id == plan.id)
                              .order_by(Filing.id.desc())).all()


@filing_number.connect
def _number_of(version, **_extra) -> str | None:
    return db.session.scalar(sa.select(Filing.number).where(
        Filing.version_id == version.id, Filing.status.in_(list(FILED))))
