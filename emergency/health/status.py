"""Is the scheduler beating and is the queue moving? Shown to officers on every page."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.messaging.models import Delivery, DeliveryStatus
from emergency.core.timeutil import utcnow
from emergency.health.models import QueueProbe, SchedulerHeartbeat

STALE = timedelta(minutes=5)
_CACHE_SECONDS = 15.0
_cache: dict[str, tuple[float, "SystemStatus"]] = {}


@dataclass(frozen=True)
class SystemStatus:
    heartbeat_at: datetime | None
    #: Age of the oldest unanswered queue probe or overdue queued message, if any.
    queue_delay: timedelta | None
    scheduler_stale: bool
    queue_stale: bool

    @property
    def ok(self) -> bool:
        return not (self.scheduler_stale or self.queue_stale)


def current(now: datetime | None = None) -> SystemStatus:
    now = now or utcnow()
    beat = db.session.scalar(sa.select(SchedulerHeartbeat.beat_at).order_by(SchedulerHeartbeat.id).limit(1))
    probe = db.session.get(QueueProbe, 1)
    delays: list[timedelta] = []
    if probe is not None and probe.enqueued_at is not None and (
            probe.done_at is None or probe.done_at < probe.enqueued_at):
        delays.append(now - probe.enqueued_at)
    oldest_queued = db.session.scalar(sa.select(sa.func.min(sa.func.coalesce(
        Delivery.next_attempt_at, Delivery.queued_at))).where(Delivery.status == DeliveryStatus.queued))
    if oldest_queued is not None:
        if oldest_queued.tzinfo is None:  # aggregate results skip the column type on SQLite
            from datetime import timezone
            oldest_queued = datetime.fromisoformat(str(oldest_queued)).replace(tzinfo=timezone.utc)
        if oldest_queued < now:
            delays.append(now - oldest_queued)
    delay = max(delays) if delays else None
    return SystemStatus(
        heartbeat_at=beat,
        queue_delay=delay,
        scheduler_stale=beat is None or now - beat > STALE,
        queue_stale=delay is not None and delay > STALE,
    )


def cached(key: str) -> SystemStatus:
    """``current()``, at most every 15 seconds per process (it is on every officer page)."""
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    status = current()
    _cache[key] = (time.monotonic(), status)
    return status
