"""Run queue tasks and scheduler jobs inside a Flask app context."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context

from .queue import huey

_app: Flask | None = None
_lock = threading.Lock()


def process_app() -> Flask:
    """The app of this worker or scheduler process, created once from the environment."""
    global _app
    with _lock:
        if _app is None:
            from emergency import create_app

            _app = create_app()
    return _app


def _app_for_call() -> Flask:
    # In-process (immediate mode, tests) the caller's app is used, in a fresh context so
    # the task gets its own database session.
    return current_app._get_current_object() if has_app_context() else process_app()


def in_app_context(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any):
        with _app_for_call().app_context():
            return fn(*args, **kwargs)

    return wrapped


def app_task(**task_options: Any) -> Callable:
    """``@huey.task`` whose body runs inside an app context. Tasks take ids, not objects."""

    def decorator(fn: Callable):
        return huey.task(**task_options)(in_app_context(fn))  # named module.function

    return decorator
