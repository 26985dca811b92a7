"""The Huey instance shared by the web app (which enqueues) and the workers (which run).

SqliteHuey in ``instance/huey.db`` with fsync by default — durable with no server; RedisHuey
when ``REDIS_URL`` is set. ``HUEY_IMMEDIATE=1`` runs tasks in-process (unit tests only).
"""
from __future__ import annotations

import os
from pathlib import Path

from huey import RedisHuey, SqliteHuey

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def make_huey():
    immediate = os.environ.get("HUEY_IMMEDIATE", "").lower() in {"1", "true", "yes"}
    name = os.environ.get("HUEY_NAME", "emergency")
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey(name, url=redis_url, immediate=immediate, utc=True)
    path = Path(os.environ.get("HUEY_SQLITE_PATH") or PROJECT_ROOT / "instance" / "huey.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), fsync=True, immediate=immediate, utc=True, timeout=30)


huey = make_huey()
