"""The scheduler's own bookkeeping: the heartbeat the pages read, and the queue probe."""
from __future__ import annotations

import os
import socket

from apscheduler.triggers.interval import IntervalTrigger

from emergency.core.extensions import db
from emergency.core.jobs import JobSpec
from emergency.core.queue import enqueue
from emergency.core.timeutil import SHANGHAI, utcnow
from emergency.health.models import QueueProbe, SchedulerHeartbeat

INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


def heartbeat() -> None:
    """Tell the pages that the scheduler is alive."""
    now = utcnow()
    row = db.session.get(SchedulerHeartbeat, 1)
    if row is None or row.instance != INSTANCE:
        row = db.session.merge(SchedulerHeartbeat(id=1, instance=INSTANCE, started_at=now, beat_at=now))
    row.beat_at = now
    db.session.commit()


def enqueue_probe() -> None:
    """Enqueue the queue probe, unless the last one has not run yet (its age is the signal)."""
    row = db.session.get(QueueProbe, 1)
    if row is not None and row.enqueued_at and (row.done_at is None or row.done_at < row.enqueued_at):
        return
    now = utcnow()
    db.session.merge(QueueProbe(id=1, enqueued_at=now, done_at=row.done_at if row else None,
                                latency=row.latency if row else None))
    db.session.commit()
    enqueue("health.probe", now.isoformat())


JOBS = (
    JobSpec("heartbeat", IntervalTrigger(seconds=30, timezone=SHANGHAI), "Write the scheduler heartbeat",
            func=heartbeat),
    JobSpec("queue_probe", IntervalTrigger(seconds=60, timezone=SHANGHAI), "Measure how long queued tasks wait",
            func=enqueue_probe),
)
