"""Drill tasks: lay out occurrences, send due reminders, send the officers' daily digest,
move drills off days off after a calendar change."""
from __future__ import annotations

import logging

from emergency.core.extensions import db
from emergency.core.queue import task
from plans.drills import actions, occurrences, reminders

logger = logging.getLogger(__name__)


@task("drills.refresh_drill_occurrences")
def refresh_drill_occurrences() -> dict[str, int]:
    """Extend every cycle's occurrences to the horizon and open the current statutory periods."""
    counts = occurrences.refresh_all()
    logger.info("drill occurrences refreshed: %s", counts)
    return counts


@task("drills.sweep_drill_reminders")
def sweep_drill_reminders() -> dict[str, int]:
    """Send the lead, on-the-day and overdue reminders due today, each once; and chase overdue
    corrective actions (once per action)."""
    counts = reminders.sweep()
    counts["actions"] = actions.remind_overdue_actions()
    if any(counts.values()):
        logger.info("drill reminders: %s", counts)
    return counts


@task("drills.send_drill_digest")
def send_drill_digest() -> bool:
    """The officers' daily digest of overdue drills and corrective actions (once a day)."""
    return reminders.digest()


@task("drills.reshift_cycles", retries=2, retry_delay=60)
def reshift_cycles() -> int:
    """The calendar changed: lay out again the future occurrences of cycles that move drills off days off."""
    count = occurrences.reshift_cycles()
    db.session.commit()
    logger.info("drill cycles re-laid after a calendar change: %s", count)
    return count
