"""Health tasks: the queue probe that measures how long tasks wait."""
from __future__ import annotations

from datetime import datetime

from emergency.core.extensions import db
from emergency.core.queue import task
from emergency.core.timeutil import utcnow
from emergency.health.models import QueueProbe


@task("health.probe")
def probe(enqueued_at: str) -> float:
    """Record that a task enqueued at ``enqueued_at`` ran now; returns the wait in seconds."""
    sent = datetime.fromisoformat(enqueued_at)
    now = utcnow()
    row = db.session.get(QueueProbe, 1) or QueueProbe(id=1)
    row.done_at = now
    row.latency = (now - sent).total_seconds()
    db.session.merge(row)
    db.session.commit()
    return row.latency
