"""Entry point of the worker: ``huey_consumer scheduler.worker.huey -k thread -w 4``.

The worker's Flask app is built here, at start, so that the first task does not pay for it.
"""
from . import tasks  # noqa: F401 - registers every task with the queue
from .context import process_app
from .queue import huey

process_app()

__all__ = ["huey"]
