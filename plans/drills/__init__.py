"""Drills: cycles and statutory obligations, occurrences, drill records, evaluations,
corrective actions, spot checks, reminders, calendars and the compliance dashboard."""

from emergency.core.module import Module

module = Module(
    "drills",
    models=("plans.drills.models",),
    views=("plans.drills.views", "plans.drills.record_views", "plans.drills.calendar_views",
           "plans.drills.dashboard_views"),
    api=("plans.drills.api", "plans.drills.record_api", "plans.drills.feed_api"),
    tasks=("plans.drills.tasks",),
    jobs=("plans.drills.jobs",),
    handlers=("plans.drills.handlers",),
)
