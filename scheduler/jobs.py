"""The scheduler's side of jobs: every domain's ``JobSpec`` (``emergency.modules.jobs()``),
run by id inside the process's app context.

The job store holds ``scheduler.jobs:run_job`` with the job's id as its argument, so a job's
definition (what it enqueues or calls) is read from the code at run time, and reconciliation
compares only id, trigger and argument.
"""
from __future__ import annotations

import logging

from emergency import modules
from emergency.core.jobs import JobSpec
from emergency.core.queue import enqueue

from scheduler.context import in_app_context

logger = logging.getLogger(__name__)


def specs() -> tuple[JobSpec, ...]:
    return modules.jobs()


def by_id(job_id: str) -> JobSpec:
    return next(spec for spec in specs() if spec.id == job_id)


@in_app_context
def run_job(job_id: str) -> None:
    """Run one job: enqueue its task (the worker does the work), or call its function."""
    spec = by_id(job_id)
    if spec.task is not None:
        enqueue(spec.task)
    else:
        spec.func()
