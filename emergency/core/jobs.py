"""Scheduler jobs as data: a stable id, a trigger, and either a task to enqueue (the worker
does the work) or a small function the scheduler runs itself inside an app context."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    id: str
    trigger: Any
    description: str
    #: The task to enqueue (``emergency.core.queue`` name), for jobs whose work is the worker's.
    task: str | None = None
    #: Or a function the scheduler calls itself (quick bookkeeping such as the heartbeat).
    func: Callable[[], Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.task is None) == (self.func is None):
            raise ValueError(f"job {self.id}: give either a task or a function")
