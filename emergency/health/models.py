"""What tells the duty room that the machinery behind the pages is alive."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from emergency.core.extensions import db
from emergency.core.timeutil import UTCDateTime


class SchedulerHeartbeat(db.Model):
    """Written every 30 seconds by the active scheduler (one row)."""

    __tablename__ = "scheduler_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: host:pid of the active scheduler.
    instance: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QueueProbe(db.Model):
    """A probe task the scheduler enqueues every minute; while one is outstanding its age is
    a lower bound of the oldest queued task's age (one row)."""

    __tablename__ = "queue_probe"

    id: Mapped[int] = mapped_column(primary_key=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Seconds between enqueue and run of the last completed probe.
    latency: Mapped[float | None] = mapped_column(sa.Float)


#: APScheduler's job store table, created by our migrations (same columns as
#: apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore makes) so the schema stays under Alembic.
apscheduler_jobs = sa.Table(
    "apscheduler_jobs",
    db.metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)
