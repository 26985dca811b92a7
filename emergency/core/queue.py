"""The task queue (what is done, by the worker): Huey, built from the app's configuration.

Domains declare their tasks in ``<domain>/tasks.py`` with ``@task("<domain>.<name>", …)`` and
enqueue them by name — ``enqueue_after_commit("filing.recompute_clocks")`` — so that an
operation never imports the module of its own worker tasks (which import the operations).

Nothing happens at import: ``init_app`` only records the settings, and the Huey instance (a
SqliteHuey file, or RedisHuey with ``REDIS_URL``) is made on first use — the first enqueue, or
the worker's start. ``HUEY_IMMEDIATE`` runs tasks in-process (unit tests), each in a fresh app
context so that it gets its own database session, as in the worker.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey

from emergency.core.db import on_commit
from emergency.core.extensions import db

EXTENSION = "queue"

#: Every task declared so far: name → (function, Huey task options).
_TASKS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}


class Task:
    """A declared task: calling it enqueues it on the current app's queue (returns Huey's result)."""

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self.name = name
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any):
        return enqueue(self.name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name}>"


def task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Task]:
    """Declare a worker task (its body runs inside an app context). Tasks take ids, not objects."""

    def decorator(fn: Callable[..., Any]) -> Task:
        if name in _TASKS and _TASKS[name][0] is not fn:
            raise ValueError(f"task {name} is declared twice")
        _TASKS[name] = (fn, options)
        return Task(name, fn)

    return decorator


class AppQueue:
    """One app's queue: its Huey instance (made on first use) and the tasks registered on it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey: Huey | None = None
        self._wrappers: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def huey(self) -> Huey:
        with self._lock:
            if self._huey is None:
                self._huey = _make_huey(self.app.config, Path(self.app.instance_path))
            for name, (fn, options) in _TASKS.items():
                if name not in self._wrappers:
                    self._wrappers[name] = self._huey.task(name=name, **options)(_in_context(self.app, fn))
            return self._huey

    def wrapper(self, name: str):
        self.huey  # noqa: B018 - made on first use, registering every declared task
        try:
            return self._wrappers[name]
        except KeyError:
            raise LookupError(f"no task {name!r} is declared (is its domain's tasks module in the module list?)")


def _in_context(app: Flask, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any):
        with app.app_context():
            return fn(*args, **kwargs)

    return run


def _make_huey(config: Any, instance_path: Path) -> Huey:
    name = config["HUEY_NAME"]
    immediate = bool(config["HUEY_IMMEDIATE"])
    if config.get("REDIS_URL"):
        return RedisHuey(name, url=config["REDIS_URL"], immediate=immediate, utc=True)
    path = Path(config.get("HUEY_SQLITE_PATH") or instance_path / "huey.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), fsync=True, immediate=immediate, utc=True, timeout=30)


#: The queue of the app built last: for code running outside an app context in that app's
#: process (the SMS sender's threads). A process runs one app; tests build one at a time.
_latest: AppQueue | None = None


def init_app(app: Flask) -> None:
    global _latest
    app.extensions[EXTENSION] = _latest = AppQueue(app)


def app_queue(app: Flask | None = None) -> AppQueue:
    if app is not None:
        return app.extensions[EXTENSION]
    if has_app_context():
        return current_app.extensions[EXTENSION]
    if _latest is None:
        raise RuntimeError("no app has been built: there is no queue")
    return _latest


def wrapper(name: str, app: Flask | None = None):
    """Huey's task wrapper of ``name`` (for ``.schedule(args=…, delay=…)``)."""
    return app_queue(app).wrapper(name)


def enqueue(name: str, *args: Any, **kwargs: Any):
    """Enqueue the task ``name`` now (in immediate mode: run it now). Returns Huey's result."""
    return app_queue().wrapper(name)(*args, **kwargs)


def enqueue_after_commit(name: str, *args: Any, once: bool = False, **kwargs: Any) -> None:
    """Enqueue once the current transaction has committed (the worker must see its rows);
    nothing is enqueued if it rolls back. ``once``: at most one such task per transaction
    (several changes asking for the same recount)."""
    app = current_app._get_current_object()
    if once:
        pending = db.session().info.setdefault("queue_once", set())
        if name in pending:
            return
        pending.add(name)

    def run() -> None:
        if once:
            db.session().info.get("queue_once", set()).discard(name)
        app_queue(app).wrapper(name)(*args, **kwargs)

    on_commit(run)
