"""Messaging's periodic jobs: release scheduled campaigns, sweep and poll deliveries."""
from __future__ import annotations

import logging

from apscheduler.triggers.interval import IntervalTrigger

from emergency.core.extensions import db
from emergency.core.jobs import JobSpec
from emergency.core.timeutil import SHANGHAI
from emergency.messaging import delivery
from emergency.messaging.campaigns import release_due

logger = logging.getLogger(__name__)


def release_due_campaigns() -> None:
    released = release_due()
    db.session.commit()  # enqueues the fan-outs
    if released:
        logger.info("released %s scheduled campaigns", released)


def sweep_deliveries() -> None:
    found = delivery.sweep()
    found["poll"] = delivery.poll_silent()
    if any(found.values()):
        logger.info("delivery sweep: %s", found)


JOBS = (
    JobSpec("release_due_campaigns", IntervalTrigger(seconds=15, timezone=SHANGHAI),
            "Release scheduled SMS campaigns whose time has come", func=release_due_campaigns),
    JobSpec("sweep_deliveries", IntervalTrigger(seconds=60, timezone=SHANGHAI),
            "Re-enqueue lost deliveries, reconcile stuck ones, poll silent ones", func=sweep_deliveries),
)
