"""The scheduler's jobs, defined as data with stable ids and reconciled at start.

A job only finds what is due and enqueues it; the worker does the work.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from emergency.timeutil import SHANGHAI, utcnow

from .context import in_app_context

logger = logging.getLogger(__name__)
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], Any]
    trigger: Any
    description: str
    options: dict[str, Any] = field(default_factory=dict)


@in_app_context
def heartbeat() -> None:
    """Tell the pages that the scheduler is alive."""
    from emergency.extensions import db
    from emergency.health.models import SchedulerHeartbeat

    now = utcnow()
    row = db.session.get(SchedulerHeartbeat, 1)
    if row is None or row.instance != INSTANCE:
        row = db.session.merge(SchedulerHeartbeat(id=1, instance=INSTANCE, started_at=now, beat_at=now))
    row.beat_at = now
    db.session.commit()


@in_app_context
def enqueue_probe() -> None:
    """Enqueue the queue probe, unless the last one has not run yet (its age is the signal)."""
    from emergency.extensions import db
    from emergency.health.models import QueueProbe

    from .tasks.system import probe

    row = db.session.get(QueueProbe, 1)
    if row is not None and row.enqueued_at and (row.done_at is None or row.done_at < row.enqueued_at):
        return
    now = utcnow()
    db.session.merge(QueueProbe(id=1, enqueued_at=now, done_at=row.done_at if row else None,
                                latency=row.latency if row else None))
    db.session.commit()
    probe(now.isoformat())


@in_app_context
def release_due_campaigns() -> None:
    from emergency.extensions import db
    from emergency.messaging.campaigns import release_due

    released = release_due()
    db.session.commit()  # enqueues the fan-outs
    if released:
        logger.info("released %s scheduled campaigns", released)


@in_app_context
def sweep_deliveries() -> None:
    from emergency.messaging import delivery

    found = delivery.sweep()
    found["poll"] = delivery.poll_silent()
    if any(found.values()):
        logger.info("delivery sweep: %s", found)


def sweep_filings() -> None:
    """Enqueue the filing sweep (deemed filing, deadline reminders); the worker does it."""
    from .tasks.plans import sweep_filings as task

    task()


def recompute_clocks() -> None:
    """Enqueue the daily recount of open clocks (a package upgrade may have confirmed a year)."""
    from .tasks.plans import recompute_clocks as task

    task()


def refresh_drill_occurrences() -> None:
    """Enqueue the daily refresh of drill occurrences."""
    from .tasks.drills import refresh_drill_occurrences as task

    task()


def sweep_drill_reminders() -> None:
    """Enqueue the drill reminder sweep; the worker sends what is due, once."""
    from .tasks.drills import sweep_drill_reminders as task

    task()


def send_drill_digest() -> None:
    """Enqueue the officers' daily drill digest."""
    from .tasks.drills import send_drill_digest as task

    task()


JOBS: tuple[JobSpec, ...] = (
    JobSpec("heartbeat", heartbeat, IntervalTrigger(seconds=30, timezone=SHANGHAI),
            "Write the scheduler heartbeat"),
    JobSpec("queue_probe", enqueue_probe, IntervalTrigger(seconds=60, timezone=SHANGHAI),
            "Measure how long queued tasks wait"),
    JobSpec("release_due_campaigns", release_due_campaigns, IntervalTrigger(seconds=15, timezone=SHANGHAI),
            "Release scheduled SMS campaigns whose time has come"),
    JobSpec("sweep_deliveries", sweep_deliveries, IntervalTrigger(seconds=60, timezone=SHANGHAI),
            "Re-enqueue lost deliveries, reconcile stuck ones, poll silent ones"),
    # Hourly in office hours: a filing is deemed filed on the first morning after its fifth
    # working day, and reminders go out by day (the sweep is idempotent, so repeats are harmless).
    JobSpec("sweep_filings", sweep_filings, CronTrigger(hour="8-20", minute=5, timezone=SHANGHAI),
            "Deem undecided filings filed; remind enterprises of filing deadlines"),
    # Clocks are recounted whenever the calendar changes; daily too, so that a chinese-calendar
    # upgrade that brings a year confirms its provisional deadlines without anyone's action.
    JobSpec("recompute_clocks", recompute_clocks, CronTrigger(hour=0, minute=10, timezone=SHANGHAI),
            "Recount open statutory clocks against the working-day calendar"),
    # Drills: occurrences laid out after midnight, reminders hourly by day (idempotent per
    # occurrence and milestone; quiet hours still apply), the officers' digest each morning.
    JobSpec("refresh_drill_occurrences", refresh_drill_occurrences,
            CronTrigger(hour=0, minute=20, timezone=SHANGHAI),
            "Lay out drill occurrences of cycles and statutory obligations"),
    JobSpec("sweep_drill_reminders", sweep_drill_reminders, CronTrigger(hour="7-20", minute=35, timezone=SHANGHAI),
            "Remind enterprises of coming, due and overdue drills"),
    JobSpec("send_drill_digest", send_drill_digest, CronTrigger(hour=8, minute=30, timezone=SHANGHAI),
            "Send officers the daily digest of overdue drills and corrective actions"),
)
