"""The scheduler process: one active instance, others wait as hot standbys.

``flask --app wsgi scheduler run`` takes the leadership lock (a PostgreSQL advisory lock held
on a dedicated connection, or an exclusive file lock beside the SQLite database), then runs a
BlockingScheduler (Asia/Shanghai) whose job store is in the same database. Jobs are defined
in ``scheduler.jobs`` and reconciled at start: unchanged jobs keep their next run time, so a
restart neither loses nor repeats a due job; changed ones are replaced, unknown ones removed.
When the active process dies its lock is released by the database or the kernel and a
standby takes over within ``SCHEDULER_STANDBY_POLL`` seconds.
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from emergency.core.timeutil import SHANGHAI

from emergency.core.jobs import JobSpec

from scheduler.jobs import run_job, specs

logger = logging.getLogger(__name__)
ADVISORY_KEY = 7_460_031_001  # "emergency scheduler"
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 600}


class LeadershipLock:
    """Held by the active scheduler for as long as its process lives."""

    def __init__(self, app: Flask):
        self.url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.instance_path = Path(app.instance_path)
        self._conn: Any = None
        self._file: Any = None

    def try_acquire(self) -> bool:
        if self.url.startswith("postgresql"):
            engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            conn = engine.connect()
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            conn.commit()
            if got:
                self._conn = conn
                return True
            conn.close()
            return False
        self.instance_path.mkdir(parents=True, exist_ok=True)
        handle = open(self.instance_path / "scheduler.lock", "a+")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                return False
        return self._file is not None

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


#: What the job store calls for every job (with the job's id): see scheduler.jobs.
RUN_JOB = "scheduler.jobs:run_job"


def _same(job, spec: JobSpec) -> bool:
    return (job.func_ref == RUN_JOB and tuple(job.args) == (spec.id,) and str(job.trigger) == str(spec.trigger)
            and job.name == spec.id)


def reconcile_jobs(scheduler: BaseScheduler, wanted_specs: tuple[JobSpec, ...] | None = None) -> dict[str, list[str]]:
    """Make the job store hold exactly ``wanted_specs`` (default: every domain's jobs); report what changed."""
    wanted_specs = specs() if wanted_specs is None else wanted_specs
    changes: dict[str, list[str]] = {"added": [], "replaced": [], "removed": [], "kept": []}
    wanted = {spec.id: spec for spec in wanted_specs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
            changes["removed"].append(job.id)
    for spec in wanted_specs:
        job = scheduler.get_job(spec.id)
        if job is not None and _same(job, spec):
            changes["kept"].append(spec.id)
            continue
        scheduler.add_job(RUN_JOB, args=(spec.id,), trigger=spec.trigger, id=spec.id, name=spec.id,
                          replace_existing=True, **spec.options)
        changes["replaced" if job is not None else "added"].append(spec.id)
    return changes


def build_scheduler(app: Flask, scheduler_class=BlockingScheduler) -> BaseScheduler:
    return scheduler_class(
        timezone=SHANGHAI,
        jobstores={"default": SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"],
                                                 tablename="apscheduler_jobs")},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults=JOB_DEFAULTS,
    )


def run(app: Flask, standby_poll: float | None = None) -> None:
    """Wait for leadership, then run the jobs until the process is stopped."""
    poll = standby_poll or float(app.config["SCHEDULER_STANDBY_POLL"])
    lock = LeadershipLock(app)
    announced = False
    while not lock.try_acquire():
        if not announced:
            logger.info("another scheduler is active; standing by (checking every %ss)", poll)
            announced = True
        time.sleep(poll)
    logger.info("scheduler %s is active", os.getpid())
    scheduler = build_scheduler(app)

    def on_start(_event) -> None:
        # The job store is open now: reconcile while paused, then let jobs run.
        logger.info("jobs reconciled: %s", reconcile_jobs(scheduler))
        run_job("heartbeat")  # tell the pages at once, not after the first interval
        scheduler.resume()

    def watch_lock() -> None:
        while scheduler.state != STATE_STOPPED:
            time.sleep(poll)
            if not lock.still_held():
                logger.error("leadership lock lost; stopping so that a standby can take over")
                scheduler.shutdown(wait=False)
                return

    def stop(signum, _frame) -> None:
        logger.info("signal %s: stopping the scheduler", signum)
        scheduler.shutdown(wait=False)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    scheduler.add_listener(on_start, EVENT_SCHEDULER_STARTED)
    threading.Thread(target=watch_lock, daemon=True, name="lock-watch").start()
    try:
        scheduler.start(paused=True)
    finally:
        lock.release()
