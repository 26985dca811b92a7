"""The scheduler process: jobs as data reconciled idempotently, one active instance with a hot
standby that takes over, heartbeat, and the officers' banner when the machinery stalls."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from emergency.core.extensions import db
from emergency.health.models import QueueProbe, SchedulerHeartbeat
from emergency.core.timeutil import SHANGHAI, utcnow
from emergency.core.jobs import JobSpec
from scheduler.jobs import specs
from scheduler.process import LeadershipLock, build_scheduler, reconcile_jobs

from .processes import kill, process_env, start_scheduler, wait_for


class InertScheduler(BaseScheduler):
    """Opens the real job store but never runs a job (a paused BackgroundScheduler still
    processes due jobs once when it shuts down)."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


@pytest.fixture
def paused_scheduler(app):
    scheduler = build_scheduler(app, InertScheduler)
    scheduler.start(paused=True)
    yield scheduler
    scheduler.shutdown(wait=False)


def _stored(app) -> dict[str, float]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT id, next_run_time FROM apscheduler_jobs")).all())


def test_reregistering_the_jobs_changes_nothing(app, paused_scheduler):
    first = reconcile_jobs(paused_scheduler)
    assert sorted(first["added"]) == sorted(spec.id for spec in specs())
    before = _stored(app)
    time.sleep(0.05)
    second = reconcile_jobs(paused_scheduler)
    assert second == {"added": [], "replaced": [], "removed": [], "kept": [spec.id for spec in specs()]}
    assert _stored(app) == before


def test_changed_jobs_are_replaced_and_unknown_ones_removed(app, paused_scheduler):
    reconcile_jobs(paused_scheduler)
    changed = tuple(
        JobSpec(s.id, IntervalTrigger(seconds=45, timezone=SHANGHAI), s.description, func=s.func)
        if s.id == "heartbeat" else s
        for s in specs() if s.id != "queue_probe")
    result = reconcile_jobs(paused_scheduler, changed)
    assert result["replaced"] == ["heartbeat"]
    assert result["removed"] == ["queue_probe"]
    assert set(_stored(app)) == {s.id for s in changed}


def test_only_one_scheduler_holds_the_lock(app):
    first, second = LeadershipLock(app), LeadershipLock(app)
    assert first.try_acquire()
    try:
        assert not second.try_acquire()
        assert first.still_held()
    finally:
        first.release()
    assert second.try_acquire()
    second.release()


def _heartbeat() -> SchedulerHeartbeat | None:
    db.session.rollback()  # end the read snapshot: the processes write in their own transactions
    return db.session.get(SchedulerHeartbeat, 1)


def test_standby_takes_over_when_the_active_scheduler_dies(app, tmp_path):
    env = process_env(app, SCHEDULER_STANDBY_POLL="1")
    active = start_scheduler(env, tmp_path / "a.log")
    standby = None
    try:
        first = wait_for(_heartbeat, 30, what="the first scheduler's heartbeat").instance
        standby = start_scheduler(env, tmp_path / "b.log")
        wait_for(lambda: "standing by" in (tmp_path / "b.log").read_text(), 30, what="the standby")
        assert _heartbeat().instance == first  # the standby runs no jobs
        kill(active)
        took_over = wait_for(lambda: (hb := _heartbeat()) and hb.instance != first and hb,
                             60, what="the standby to take over")
        assert took_over.instance.endswith(f":{standby.pid}")
    finally:
        kill(active)
        if standby is not None:
            kill(standby)


def test_restart_runs_a_job_that_fell_due_while_down_exactly_once(app, tmp_path):
    env = process_env(app, SCHEDULER_STANDBY_POLL="1")
    log = tmp_path / "s.log"
    process = start_scheduler(env, log)
    try:
        wait_for(_heartbeat, 30, what="a heartbeat")
    finally:
        kill(process, sig=15)
    # While it was down, the heartbeat fell due three times over (moved through APScheduler's
    # own API, so the stored job state says so too).
    offline = build_scheduler(app, InertScheduler)
    offline.start(paused=True)
    offline.modify_job("heartbeat", next_run_time=utcnow() - timedelta(seconds=100))
    offline.shutdown(wait=False)
    log.write_text("")
    process = start_scheduler(env, log)
    try:
        wait_for(lambda: _stored(app)["heartbeat"] > time.time(), 30, what="the heartbeat job to run")
        time.sleep(1)
        runs = re.findall(r'Running job "heartbeat', log.read_text())
        assert len(runs) == 1
    finally:
        kill(process, sig=15)


# --- the banner -------------------------------------------------------------------------------

def _page(client, login, username):
    login(username)
    return client.get("/enterprises" if username != "ent-a" else "/").get_data(as_text=True)


def test_officers_are_warned_when_the_scheduler_is_silent(client, login, people):
    from emergency.health import status

    status._cache.clear()
    html = _page(client, login, "duty")
    assert 'id="system-banner"' in html
    db.session.add(SchedulerHeartbeat(id=1, instance="h:1", started_at=utcnow(), beat_at=utcnow()))
    db.session.commit()
    status._cache.clear()
    assert 'id="system-banner"' not in client.get("/enterprises").get_data(as_text=True)


def test_officers_are_warned_when_the_queue_is_stuck(client, login, people):
    from emergency.health import status

    db.session.add(SchedulerHeartbeat(id=1, instance="h:1", started_at=utcnow(), beat_at=utcnow()))
    db.session.add(QueueProbe(id=1, enqueued_at=utcnow() - timedelta(minutes=6), done_at=None))
    db.session.commit()
    status._cache.clear()
    html = _page(client, login, "duty")
    assert 'id="system-banner"' in html and "6" in html


def test_enterprise_users_do_not_see_the_banner(client, login, people):
    from emergency.health import status

    status._cache.clear()
    html = client.get("/login").get_data(as_text=True)
    assert 'id="system-banner"' not in html
    login("ent-a")
    page = client.get(f"/enterprises/{people['own'].id}").get_data(as_text=True)
    assert 'id="system-banner"' not in page
