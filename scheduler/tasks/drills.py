"""Drill tasks: lay out occurrences, send due reminders, send the officers' daily digest."""
from __future__ import annotations

import logging

from ..context import app_task

logger = logging.getLogger(__name__)


@app_task()
def refresh_drill_occurrences() -> dict[str, int]:
    """Extend every cycle's occurrences to the horizon and open the current statutory periods."""
    from plans.drills import occurrences

    counts = occurrences.refresh_all()
    logger.info("drill occurrences refreshed: %s", counts)
    return counts


@app_task()
def sweep_drill_reminders() -> dict[str, int]:
    """Send the lead, on-the-day and overdue reminders due today, each once; and chase overdue
    corrective actions (once per action)."""
    from plans.drills import actions, reminders

    counts = reminders.sweep()
    counts["actions"] = actions.remind_overdue_actions()
    if any(counts.values()):
        logger.info("drill reminders: %s", counts)
    return counts


@app_task()
def send_drill_digest() -> bool:
    """The officers' daily digest of overdue drills and corrective actions (once a day)."""
    from plans.drills import reminders

    return reminders.digest()
