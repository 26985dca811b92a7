"""System tasks: the queue probe that measures how long tasks wait."""
from __future__ import annotations

from datetime import datetime

from emergency.extensions import db
from emergency.health.models import QueueProbe
from emergency.timeutil import utcnow

from ..context import app_task


@app_task()
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
