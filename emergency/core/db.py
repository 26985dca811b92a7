"""Run something after the current transaction commits (e.g. enqueue a task for rows that the
worker must be able to see). Dropped on rollback."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from emergency.core.extensions import db

_KEY = "after_commit_callbacks"


def on_commit(callback: Callable[[], None]) -> None:
    db.session().info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop("queue_once", None)  # what emergency.core.queue was to enqueue once
