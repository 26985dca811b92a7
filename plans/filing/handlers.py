"""What filing does when other domains change: the calendar's days (its clocks count them)."""
from __future__ import annotations

from emergency.extensions import db
from emergency.transactions import on_commit
from emergency.workdays.signals import calendar_changed

_PENDING = "clock_recompute_pending"


@calendar_changed.connect
def _recompute_after_commit(_sender, years: set[int], **_extra) -> None:
    """Once per transaction that changed the calendar: recompute every open clock in the worker."""
    session = db.session()
    pending: set[int] | None = session.info.get(_PENDING)
    if pending is not None:
        pending.update(years)
        return
    session.info[_PENDING] = pending = set(years)

    def enqueue() -> None:
        from scheduler.tasks.plans import recompute_clocks  # the queue sits above the domains

        session.info.pop(_PENDING, None)
        recompute_clocks(sorted(pending))

    on_commit(enqueue)
