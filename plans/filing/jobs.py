"""Filing's periodic jobs (the worker does the work)."""
from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from emergency.core.jobs import JobSpec
from emergency.core.timeutil import SHANGHAI

JOBS = (
    # Hourly in office hours: a filing is deemed filed on the first morning after its fifth
    # working day, and reminders go out by day (the sweep is idempotent, so repeats are harmless).
    JobSpec("sweep_filings", CronTrigger(hour="8-20", minute=5, timezone=SHANGHAI),
            "Deem undecided filings filed; remind enterprises of filing deadlines", task="filing.sweep_filings"),
    # Clocks are recounted whenever the calendar changes; daily too, so that a chinese-calendar
    # upgrade that brings a year confirms its provisional deadlines without anyone's action.
    JobSpec("recompute_clocks", CronTrigger(hour=0, minute=10, timezone=SHANGHAI),
            "Recount open statutory clocks against the working-day calendar", task="filing.recompute_clocks"),
)
