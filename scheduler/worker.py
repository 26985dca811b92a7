"""Entry point of the worker: ``huey_consumer scheduler.worker.huey -k thread -w 4``."""
from . import tasks  # noqa: F401 - registers every task with the queue
from .queue import huey

__all__ = ["huey"]
