"""Filing (备案) of published plans with the bureau, on statutory working-day clocks."""

from emergency.core.module import Module

module = Module(
    "filing",
    models=("plans.filing.models",),
    views=("plans.filing.views",),
    api=("plans.filing.api",),
    tasks=("plans.filing.tasks",),
    jobs=("plans.filing.jobs",),
    handlers=("plans.filing.handlers",),
)
