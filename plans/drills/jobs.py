"""Drills' periodic jobs: occurrences laid out after midnight, reminders hourly by day
(idempotent per occurrence and milestone; quiet hours still apply), the officers' digest."""
from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from emergency.core.jobs import JobSpec
from emergency.core.timeutil import SHANGHAI

JOBS = (
    JobSpec("refresh_drill_occurrences", CronTrigger(hour=0, minute=20, timezone=SHANGHAI),
            "Lay out drill occurrences of cycles and statutory obligations", task="drills.refresh_drill_occurrences"),
    JobSpec("sweep_drill_reminders", CronTrigger(hour="7-20", minute=35, timezone=SHANGHAI),
            "Remind enterprises of coming, due and overdue drills", task="drills.sweep_drill_reminders"),
    JobSpec("send_drill_digest", CronTrigger(hour=8, minute=30, timezone=SHANGHAI),
            "Send officers the daily digest of overdue drills and corrective actions", task="drills.send_drill_digest"),
)
