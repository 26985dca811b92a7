"""Drill reminders and the officers' digest: each milestone once per occurrence however often the
sweep runs or the scheduler restarts, quiet hours respected, nothing for done or excused drills."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from emergency.core.extensions import db
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging import contacts as contact_ops
from emergency.messaging import settings
from emergency.messaging.models import Campaign, CampaignStatus, Delivery, OrgKind
from emergency.core.timeutil import SHANGHAI
from plans.drills import cycles, occurrences, records, reminders
from plans.drills.models import ActionStatus, CorrectiveAction, Occurrence
from scheduler.jobs import run_job
from scheduler.process import build_scheduler, reconcile_jobs

from .test_scheduler import InertScheduler

D = date.fromisoformat


def at(day: str, hour: int = 10, minute: int = 0):
    """Travel to ``day`` at ``hour``:``minute`` in Shanghai."""
    moment = datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}").replace(tzinfo=SHANGHAI)
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def plant(make_enterprise):
    """A small manufacturer with its safety manager on the register (no contact row)."""
    return make_enterprise(name="丙机械制造有限公司", industry="manufacturing", scale="small",
                           safety_manager_mobile="+8613900139001")


@pytest.fixture
def weekly(people, plant):
    """Every Wednesday 09:00, on time until Friday, reminded a day ahead; a shift leader too."""
    with at("2026-11-30"):
        leader = contact_ops.create_contact(people["officer"], {
            "name": "王班长", "mobile": "+8613700137001", "org_kind": OrgKind.enterprise,
            "enterprise_id": plant.id, "roles": ["staff"]})
        cycle = cycles.create_cycle(people["officer"], plant, {
            "name": "甲班周演练", "preset": "custom", "rule": {"freq": "weekly", "weekdays": [2], "interval": 1},
            "start_time": "09:00", "duration_minutes": 30, "grace_days": 2, "lead_days": 1,
            "starts_on": D("2026-11-30"), "contact_ids": [leader.id]})
        db.session.commit()
    return cycle


def campaigns(prefix: str = "drill-occ-") -> list[Campaign]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Campaign).where(Campaign.source_key.like(f"{prefix}%"))
                              .order_by(Campaign.id)).all()


def occurrence(cycle, day: str) -> Occurrence:
    return db.session.scalar(sa.select(Occurrence).where(Occurrence.key == occurrences.cycle_key(cycle.id, D(day))))


def test_lead_day_and_overdue_reminders_each_once(app, weekly, plant):
    first = occurrence(weekly, "2026-12-02")
    with at("2026-11-30"):  # two days ahead: the lead is one day
        assert reminders.sweep() == {"lead": 0, "day": 0, "overdue": 0}
    with at("2026-12-01", 7, 35):
        assert reminders.sweep() == {"lead": 1, "day": 0, "overdue": 0}
    with at("2026-12-01", 20, 35):
        assert reminders.sweep() == {"lead": 0, "day": 0, "overdue": 0}
    with at("2026-12-02", 8, 35):
        assert reminders.sweep() == {"lead": 0, "day": 1, "overdue": 0}
        assert reminders.sweep()["day"] == 0
    for day in ("2026-12-03", "2026-12-04"):  # inside the window: nothing
        with at(day):
            assert reminders.sweep() == {"lead": 0, "day": 0, "overdue": 0}
    with at("2026-12-05"):
        assert reminders.sweep() == {"lead": 0, "day": 0, "overdue": 1}
        assert reminders.sweep()["overdue"] == 0
    sent = campaigns()
    assert [c.source_key for c in sent] == [f"drill-occ-{first.id}-lead", f"drill-occ-{first.id}-day",
                                            f"drill-occ-{first.id}-overdue"]
    assert {c.priority for c in sent} == {"normal"} and {c.kind for c in sent} == {"drill_reminder"}
    assert {c.enterprise_id for c in sent} == {plant.id}
    lead, day, overdue = (c.body for c in sent)
    assert lead == ("【测试县应急管理局】丙机械制造有限公司：“甲班周演练”定于2026-12-02 09:00进行"
                    "（2026-12-02至2026-12-04内完成为按时），请做好准备。")
    assert "今天" in day and "2026-12-02 09:00" in day
    assert "已逾期" in overdue and "2026-12-02至2026-12-04" in overdue
    # The register's safety manager (no contact row yet) and the cycle's contact, each once.
    phones = sorted(d.phone for d in db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == sent[0].id)))
    assert phones == ["+8613700137001", "+8613900139001"]


def test_a_restarted_scheduler_sends_nothing_twice(app, weekly):
    with at("2026-12-02", 8, 35):
        scheduler = build_scheduler(app, InertScheduler)
        scheduler.start(paused=True)
        assert "sweep_drill_reminders" in reconcile_jobs(scheduler)["added"]
        run_job("sweep_drill_reminders")  # the job enqueues; the queue runs the task in-process
        scheduler.shutdown(wait=False)
    assert len(campaigns()) == 1
    with at("2026-12-02", 9, 35):  # restarted: the same jobs are reconciled again and run again
        scheduler = build_scheduler(app, InertScheduler)
        scheduler.start(paused=True)
        changes = reconcile_jobs(scheduler)
        assert not changes["added"] and not changes["replaced"] and "sweep_drill_reminders" in changes["kept"]
        run_job("sweep_drill_reminders")
        run_job("sweep_drill_reminders")
        scheduler.shutdown(wait=False)
    assert [c.source_key.rsplit("-", 1)[1] for c in campaigns()] == ["day"]


def test_quiet_hours_push_the_reminder(app, people, weekly):
    settings.put(people["admin"], "quiet_hours", "07:00-12:00")
    db.session.commit()
    with at("2026-12-01", 7, 35):
        assert reminders.sweep()["lead"] == 1
        (campaign,) = campaigns()
        assert campaign.status == CampaignStatus.scheduled  # held back, not sent
        assert campaign_ops.planned_send_time(campaign) == datetime(2026, 12, 1, 12, 0, tzinfo=SHANGHAI)
        assert campaign_ops.release_due() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    with at("2026-12-01", 12, 1):
        assert campaign_ops.release_due() == 1
        db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                             .where(Delivery.campaign_id == campaign.id)) == 2


def test_done_and_excused_occurrences_are_not_chased(app, people, weekly, plant):
    with at("2026-12-09", 9, 30):
        records.record_drill(people["officer"], plant, {
            "title": "甲班周演练", "started_at": datetime(2026, 12, 9, 9, 0, tzinfo=SHANGHAI), "duration_minutes": 30,
            "form": "tabletop", "content": "single", "purpose": "inspection", "cycle_id": weekly.id})
        occurrences.excuse(people["officer"], occurrence(weekly, "2026-12-16"), "厂区停产检修")
        db.session.commit()
    assert occurrence(weekly, "2026-12-09").drill_id is not None
    for day in ("2026-12-12", "2026-12-15", "2026-12-16", "2026-12-19"):
        with at(day):
            reminders.sweep()
    keys = {c.source_key for c in campaigns()}
    done, excused = occurrence(weekly, "2026-12-09"), occurrence(weekly, "2026-12-16")
    assert not {k for k in keys if k.startswith((f"drill-occ-{done.id}-", f"drill-occ-{excused.id}-"))}
    assert not any(k.endswith("-overdue") for k in keys)
    # The next open one is still reminded.
    nxt = occurrence(weekly, "2026-12-23")
    with at("2026-12-22"):
        assert reminders.sweep()["lead"] == 1
    assert f"drill-occ-{nxt.id}-lead" in {c.source_key for c in campaigns()}


def test_old_history_is_not_messaged(app, weekly):
    with at("2026-12-20"):  # the 2 December drill is 16 days overdue: too late to chase by SMS
        counts = reminders.sweep()
    assert counts["overdue"] == 1  # only the 16 December one (2 days after its window)
    (campaign,) = campaigns()
    assert campaign.source_key == f"drill-occ-{occurrence(weekly, '2026-12-16').id}-overdue"


def test_digest_once_a_day_with_the_counts(app, people, weekly, plant):
    officer = people["officer"]
    contact_ops.create_contact(officer, {"name": "值班科长", "mobile": "+8613600136001",
                                         "org_kind": OrgKind.bureau, "roles": ["bureau_staff"]})
    contact_ops.create_contact(officer, {"name": "镇干部", "mobile": "+8613600136002",
                                         "org_kind": OrgKind.township, "roles": ["township_official"]})
    db.session.commit()
    with at("2026-12-03", 8, 30):  # nothing overdue yet: no digest
        assert reminders.digest() is False
    assert campaigns("drill-digest-") == []
    with at("2026-12-05", 10):
        drill = records.record_drill(officer, plant, {
            "title": "临时桌面推演", "started_at": datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI), "duration_minutes": 30,
            "form": "tabletop", "content": "single", "purpose": "inspection"})
        for problem, due in (("疏散通道堵塞", "2026-12-06"), ("应急照明失效", "2026-12-20")):
            db.session.add(CorrectiveAction(enterprise_id=plant.id, drill_id=drill.id, problem=problem,
                                            owner_name="李四", due_on=D(due)))
        db.session.add(CorrectiveAction(enterprise_id=plant.id, drill_id=drill.id, problem="已整改的问题",
                                        owner_name="李四", due_on=D("2026-12-01"), status=ActionStatus.done))
        db.session.commit()
    with at("2026-12-10", 8, 30):  # overdue: the 2 December drill; the action due 6 December
        assert reminders.digest() is True
        assert reminders.digest() is False
    with at("2026-12-10", 15):
        assert reminders.digest() is False
    (digest,) = campaigns("drill-digest-")
    assert digest.source_key == "drill-digest-2026-12-10" and digest.enterprise_id is None
    assert "逾期未演练1项" in digest.body and "逾期未整改1项" in digest.body
    assert "丙机械制造有限公司甲班周演练逾期6天" in digest.body and "疏散通道堵塞逾期4天" in digest.body
    assert "应急照明失效" not in digest.body and "已整改的问题" not in digest.body
    phones = [d.phone for d in db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == digest.id))]
    assert phones == ["+8613600136001"]  # bureau staff only
    with at("2026-12-12", 8, 30):  # the 9 December one is overdue too now
        assert reminders.digest() is True
    assert "逾期未演练2项" in campaigns("drill-digest-")[-1].body


def test_the_jobs_run_through_the_queue(app, weekly):
    from plans.drills.tasks import refresh_drill_occurrences, sweep_drill_reminders

    with at("2027-01-04", 0, 20):
        counts = refresh_drill_occurrences().get()
    assert counts["cycles"] > 0 and counts["obligations"] >= 1  # 2027's yearly obligation opens
    with at("2027-01-05", 7, 35):
        assert sweep_drill_reminders().get()["lead"] == 1  # Wednesday 6 January
    assert occurrence(weekly, "2027-01-06") is not None


def test_the_reminder_sweep_also_chases_overdue_corrective_actions_once(app, people, plant):
    from plans.drills.tasks import sweep_drill_reminders

    with at("2026-12-05", 10):
        drill = records.record_drill(people["officer"], plant, {
            "title": "消防演练", "started_at": datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI), "duration_minutes": 30,
            "form": "field", "content": "single", "purpose": "inspection"})
        db.session.add(CorrectiveAction(enterprise_id=plant.id, drill_id=drill.id, problem="消防水带老化",
                                        owner_name="王五", owner_mobile="+8613600136009", due_on=D("2026-12-08")))
        db.session.commit()
    with at("2026-12-08", 9, 35):  # due today: not yet overdue
        assert sweep_drill_reminders().get()["actions"] == 0
    with at("2026-12-09", 9, 35):
        assert sweep_drill_reminders().get()["actions"] == 1
    with at("2026-12-09", 10, 35):
        assert sweep_drill_reminders().get()["actions"] == 0
    (chase,) = campaigns("action-")
    assert "消防水带老化" in chase.body and "2026-12-08" in chase.body
