"""The app of a worker or scheduler process, and running code inside its app context."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context

from emergency.core.config import ensure_secret_key

_app: Flask | None = None
_lock = threading.Lock()


def process_app() -> Flask:
    """The app of this worker or scheduler process, created once from the environment."""
    global _app
    with _lock:
        if _app is None:
            # The factory imports every domain; this process module is imported by the
            # factory's CLI wiring, so the factory is imported when the process starts.
            from emergency import create_app  # the whole app, when the process starts

            _app = create_app()
            ensure_secret_key(_app)
    return _app


def _app_for_call() -> Flask:
    return current_app._get_current_object() if has_app_context() else process_app()


def in_app_context(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any):
        with _app_for_call().app_context():
            return fn(*args, **kwargs)

    return wrapped
