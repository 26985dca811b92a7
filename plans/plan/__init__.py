"""Emergency plans (应急预案): the plan system, versions, sections, review, publication, revision."""

from emergency.core.module import Module

module = Module(
    "plan",
    models=("plans.plan.models",),
    views=("plans.plan.views",),
    api=("plans.plan.api",),
    tasks=("plans.plan.tasks",),
)
