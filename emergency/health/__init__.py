"""The health domain (see emergency.core.module for what its module names)."""

from emergency.core.module import Module

module = Module(
    "health",
    models=("emergency.health.models",),
    tasks=("emergency.health.tasks",),
    jobs=("emergency.health.jobs",),
)
