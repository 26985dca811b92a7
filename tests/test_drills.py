"""Drill cycles, recurrences, occurrences, statutory obligations, fulfilment, excuses and the
publication gate — through the operations, the pages and the API."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI
from plans.drills import cycles, occurrences, recurrence
from plans.drills.models import DrillCycle, Occurrence
from plans.plan import operations as plan_ops

from .conftest import drill_of


def at(day: str, hour: int = 10):
    return time_machine.travel(datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI), tick=False)


def dates_of(rule: dict, start: str, until: str, starts_on: str | None = None) -> list[str]:
    clean = recurrence.validate(rule)
    return [d.isoformat() for d in recurrence.dates(clean, date.fromisoformat(starts_on or start),
                                                    date.fromisoformat(start), date.fromisoformat(until))]


# --- recurrences ----------------------------------------------------------------------------------

def test_day_31_falls_on_the_last_day_of_shorter_months_and_29_february_in_leap_years(app):
    assert dates_of({"freq": "monthly", "day": 31}, "2026-01-01", "2026-04-30") == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert dates_of({"freq": "monthly", "day": 29}, "2028-01-01", "2028-03-31") == [
        "2028-01-29", "2028-02-29", "2028-03-29"]
    assert dates_of({"freq": "yearly", "month": 2, "day": 29}, "2026-01-01", "2028-12-31") == [
        "2026-02-28", "2027-02-28", "2028-02-29"]


def test_a_missing_fifth_weekday_falls_back_to_the_last_one(app):
    # Fridays of 2026: January has five (30th); February only four (last 27th); May has five (29th).
    assert dates_of({"freq": "monthly", "nth": 5, "weekday": 4}, "2026-01-01", "2026-05-31") == [
        "2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29"]
    assert dates_of({"freq": "monthly", "nth": -1, "weekday": 0}, "2026-11-01", "2026-12-31") == [
        "2026-11-30", "2026-12-28"]


def test_quarters_start_in_january_april_july_october_whatever_the_start_month(app):
    # Started mid-quarter (February): the first occurrence is April's, never a "February quarter".
    assert dates_of({"freq": "quarterly", "month": 1, "nth": 1, "weekday": 0}, "2026-02-10", "2027-01-31") == [
        "2026-04-06", "2026-07-06", "2026-10-05", "2027-01-04"]
    # The third month of each quarter, on the 31st: March, June (30th), September (30th), December.
    assert dates_of({"freq": "quarterly", "month": 3, "day": 31}, "2026-01-01", "2026-12-31") == [
        "2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31"]


def test_weekly_on_several_days_and_every_other_week(app):
    assert dates_of({"freq": "weekly", "weekdays": [0, 3]}, "2026-11-23", "2026-12-06") == [
        "2026-11-23", "2026-11-26", "2026-11-30", "2026-12-03"]
    # Every other week counted from the week of the start date, even when listing from later.
    assert dates_of({"freq": "weekly", "weekdays": [2], "interval": 2}, "2026-11-20", "2026-12-31",
                    starts_on="2026-11-04") == ["2026-12-02", "2026-12-16", "2026-12-30"]


@pytest.mark.parametrize(("rule", "field"), [
    ({"freq": "daily"}, "rule.freq"),
    ({"freq": "weekly", "weekdays": []}, "rule.weekdays"),
    ({"freq": "weekly", "weekdays": [7]}, "rule.weekdays"),
    ({"freq": "monthly"}, "rule.day"),
    ({"freq": "monthly", "day": 3, "nth": 1, "weekday": 4}, "rule.day"),
    ({"freq": "monthly", "day": 32}, "rule.day"),
    ({"freq": "quarterly", "month": 4, "day": 1}, "rule.month"),
    ({"freq": "yearly", "day": 1}, "rule.month"),
])
def test_a_bad_rule_names_its_part(app, rule, field):
    with pytest.raises(Exception) as error:
        recurrence.validate(rule)
    assert field in error.value.messages


# --- cycles and their occurrences ---------------------------------------------------------------------

@pytest.fixture
def weekly(people, make_cycle):
    """A weekly small drill of enterprise A, nominally from 2 November 2026 (make_cycle's default name)."""
    return lambda **fields: make_cycle(people["own"], by=people["enterprise"], starts_on=date(2026, 11, 2), **fields)


def cycle_occurrences(cycle: DrillCycle) -> list[Occurrence]:
    return db.session.scalars(sa.select(Occurrence).where(Occurrence.cycle_id == cycle.id)
                              .order_by(Occurrence.due_on)).all()


def test_a_preset_lays_out_mondays_with_the_working_week_as_window_from_creation_on(people, weekly):
    with at("2026-11-11"):  # a Wednesday; the cycle nominally starts on 2 November
        cycle = weekly()
        rows = cycle_occurrences(cycle)
    assert cycle.rule == {"freq": "weekly", "weekdays": [0], "interval": 1}
    assert (cycle.start_time, cycle.grace_days, cycle.lead_days) == ("09:00", 4, 1)
    # Created on the 11th: no occurrences before the cycle existed; this week's Monday is history.
    assert rows[0].due_on == date(2026, 11, 16)
    assert rows[0].window_end == date(2026, 11, 20)
    assert rows[0].scheduled_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") == "2026-11-16 09:00"
    assert rows[-1].due_on <= date(2026, 11, 11) + timedelta(days=occurrences.HORIZON_DAYS)
    assert all(r.due_on.weekday() == 0 for r in rows)
    assert len({r.key for r in rows}) == len(rows)
    with at("2026-11-11"):
        assert occurrences.refresh_cycle(cycle) == 0  # a repeated refresh adds nothing
        db.session.commit()
    assert len(cycle_occurrences(cycle)) == len(rows)


def test_editing_a_cycle_moves_only_the_future_and_keeps_history_and_ids(people, weekly, make_drill):
    with at("2026-11-11"):
        cycle = weekly()
    with at("2026-11-17"):  # the first Monday has passed undone, Tuesday 17th
        first = cycle_occurrences(cycle)[0]
        late = make_drill(cycle, by=people["enterprise"], day="2026-11-17")  # done late but inside the window
        assert first.drill_id == late.id
    with at("2026-11-25"):  # Monday 23rd passed without a drill: overdue? window runs to the 27th
        by_day = {o.due_on: o for o in cycle_occurrences(cycle)}
        kept_id = by_day[date(2026, 11, 30)].id
        cycles.update_cycle(people["enterprise"], cycle, {"start_time": "15:00"})
        db.session.commit()
        after = {o.due_on: o for o in cycle_occurrences(cycle)}
        # Same day, new time: the same row (so calendars update it rather than duplicate it).
        assert after[date(2026, 11, 30)].id == kept_id
        assert after[date(2026, 11, 30)].scheduled_at.astimezone(SHANGHAI).hour == 15
        # The past stays as it was: the done one and the 23rd (now due) keep 09:00.
        assert after[date(2026, 11, 16)].drill_id == late.id
        assert after[date(2026, 11, 23)].scheduled_at.astimezone(SHANGHAI).hour == 9
        # Now move it to Thursdays: future Mondays go, Thursdays come.
        cycles.update_cycle(people["enterprise"], cycle, {"preset": "custom",
                                                          "rule": {"freq": "weekly", "weekdays": [3]}})
        db.session.commit()
        days = [o.due_on for o in cycle_occurrences(cycle)]
    assert date(2026, 11, 16) in days and date(2026, 11, 23) in days
    future = [d for d in days if d >= date(2026, 11, 25)]
    assert future and all(d.weekday() == 3 for d in future)
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.object_type == "drill_cycle", AuditEntry.action == "update")) == 2


def test_stopping_a_cycle_removes_the_future_only(people, weekly):
    with at("2026-11-11"):
        cycle = weekly()
    with at("2026-11-24"):
        cycles.stop_cycle(people["enterprise"], cycle)
        db.session.commit()
        rows = cycle_occurrences(cycle)
    assert [o.due_on for o in rows] == [date(2026, 11, 16), date(2026, 11, 23)]
    assert rows[0].status_on(date(2026, 11, 24)) == "overdue"


def test_states_upcoming_due_overdue_done_late_and_excused(people, weekly, make_drill):
    with at("2026-11-11"):
        cycle = weekly()
    rows = cycle_occurrences(cycle)
    first = rows[0]  # Monday 16th, on time until Friday 20th
    assert first.status_on(date(2026, 11, 15)) == "upcoming"
    assert first.status_on(date(2026, 11, 16)) == "due"
    assert first.status_on(date(2026, 11, 20)) == "due"
    assert first.status_on(date(2026, 11, 21)) == "overdue"
    with at("2026-11-25"):  # a late drill fulfils the most recent missed occurrence (the 23rd is due now)
        drill = make_drill(cycle, by=people["enterprise"], day="2026-11-25")
        assert [o.due_on for o in drill.occurrences] == [date(2026, 11, 23)]
        assert first.status_on(date(2026, 11, 25)) == "overdue"
        # The enterprise may excuse its own cycle's occurrence, with the reason kept.
        occurrences.excuse(people["enterprise"], first, "停产检修")
        db.session.commit()
    assert first.status_on(date(2026, 11, 25)) == "excused"
    assert first.excused_by_id == people["enterprise"].id
    with pytest.raises(Exception) as twice:
        occurrences.excuse(people["enterprise"], first, "again")
    assert "occurrence" in twice.value.messages


# --- statutory obligations -------------------------------------------------------------------------------

@pytest.fixture
def publish(people, make_published_plan):
    """A plan of ``enterprise`` in force since 2 November 2026 (its subject is its title)."""
    return lambda enterprise, **fields: make_published_plan(
        enterprise, by=people["officer"], subject=fields["title"], with_materials=False, signed_on=date(2026, 11, 2),
        **fields)


def keys(enterprise) -> set[str]:
    return set(db.session.scalars(sa.select(Occurrence.obligation).where(Occurrence.enterprise_id == enterprise.id,
                                                                        Occurrence.obligation.is_not(None))))


def test_obligations_follow_the_kind_of_enterprise(people, make_enterprise, publish):
    factory = make_enterprise(name="丙机械厂", industry="manufacturing", scale="small")
    with at("2026-11-20"):
        for enterprise in (people["own"], people["other"], factory):
            occurrences.refresh_obligations(enterprise)
        db.session.commit()
        # Every enterprise: a yearly drill of the comprehensive or a special plan; high-risk
        # (chemicals) and crowded places (hotel) also drill half-yearly and report it.
        assert keys(factory) == {"drill_yearly"}
        assert keys(people["own"]) == {"drill_yearly", "drill_half_yearly_report"}
        assert keys(people["other"]) == {"drill_yearly", "drill_half_yearly_report"}
        # An on-site plan in force adds its own half-yearly drill from its publication on.
        publish(factory, kind="onsite", title="冲压车间现场处置方案")
        assert keys(factory) == {"drill_yearly", "drill_onsite_half_yearly"}
    report = db.session.scalar(sa.select(Occurrence).where(Occurrence.enterprise_id == people["own"].id,
                                                          Occurrence.obligation == "drill_half_yearly_report"))
    assert (report.window_start, report.window_end) == (date(2026, 7, 1), date(2026, 12, 31))
    with at("2027-01-05"):
        occurrences.refresh_all()
    assert db.session.scalar(sa.select(sa.func.count(Occurrence.id)).where(
        Occurrence.enterprise_id == people["own"].id, Occurrence.key.like("%2027H1"))) == 1
    assert report.status_on(date(2027, 1, 5)) == "overdue"


def test_a_drill_of_the_right_plan_fulfils_the_obligations_of_its_period(people, make_enterprise, publish):
    factory = make_enterprise(name="丁食品厂", industry="food_processing", scale="small")
    with at("2026-11-20"):
        onsite = publish(factory, kind="onsite", title="锅炉房现场处置方案")
        comprehensive = publish(factory, kind="comprehensive", title="丁食品厂综合应急预案")
        occurrences.refresh_obligations(factory)
        db.session.commit()
    # The gate drills of the two drafts were recorded before the plans were in force (the on-site
    # obligation did not exist yet), so the yearly one is fulfilled by the comprehensive draft's drill.
    rows = {o.obligation: o for o in db.session.scalars(sa.select(Occurrence).where(
        Occurrence.enterprise_id == factory.id))}
    assert rows["drill_yearly"].drill_id is not None
    assert rows["drill_onsite_half_yearly"].drill_id is None
    with at("2026-11-27"):
        drill = drill_of(onsite)
    assert rows["drill_onsite_half_yearly"].drill_id == drill.id
    assert comprehensive.plan.enterprise_id == factory.id


def test_only_the_bureau_excuses_a_statutory_drill(people):
    with at("2026-11-20"):
        occurrences.refresh_obligations(people["own"])
        db.session.commit()
        yearly = db.session.scalar(sa.select(Occurrence).where(Occurrence.enterprise_id == people["own"].id,
                                                              Occurrence.obligation == "drill_yearly"))
        with pytest.raises(Exception) as refused:
            occurrences.excuse(people["enterprise"], yearly, "今年不练")
        assert "第三十三条" in refused.value.messages["occurrence"][0]
        db.session.rollback()
        occurrences.excuse(people["officer"], yearly, "企业停产整顿，经局长批准")
        db.session.commit()
    assert yearly.status_on(date(2026, 11, 20)) == "excused"


# --- the publication gate ------------------------------------------------------------------------------

def test_a_new_plan_is_drilled_before_it_is_published_or_the_bureau_waives_it(people, make_enterprise):
    from marshmallow import ValidationError

    from plans.drills import gate

    factory = make_enterprise(name="戊仓储", industry="warehousing", scale="small")
    officer = people["officer"]
    plan = plan_ops.create_plan(officer, factory, {"kind": "comprehensive", "title": "戊仓储综合应急预案"})
    draft = plan.versions[0]
    plan_ops.save_section(officer, draft, {"body": "<p>处置</p>"}, section=draft.sections[0])
    db.session.commit()
    with pytest.raises(ValidationError) as blocked:
        plan_ops.publish(officer, draft, {"principal_name": "总", "signed_on": date(2026, 11, 2)})
    assert "第三十三条" in blocked.value.messages["version"][-1]
    db.session.rollback()
    gate.override(officer, draft, "企业搬迁前的临时预案，演练安排在搬迁后")
    db.session.commit()
    plan_ops.publish(officer, draft, {"principal_name": "总", "signed_on": date(2026, 11, 2)})
    db.session.commit()
    assert draft.status.value == "published"
    waived = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "waive_drill"))
    assert waived.changes["reason"].startswith("企业搬迁")
    # A revision of a plan in force needs no new drill before publication.
    revision = plan_ops.start_revision(officer, plan, {"revision_trigger": "risk_changed"})
    assert gate.blockers(revision) == []


# --- pages -----------------------------------------------------------------------------------------------

def test_the_enterprise_creates_a_cycle_from_a_preset_on_its_page_and_errors_name_the_field(client, people, login):
    enterprise = people["own"]
    url = f"/enterprises/{enterprise.id}/drill-cycles/new"
    with at("2026-11-23"):
        login("ent-a")
        page = client.get(url + "?preset=monthly_large")
        assert page.status_code == 200 and "每月一大练" in page.get_data(as_text=True)
        bad = client.post(url, data={"name": "", "preset": "custom", "freq": "monthly", "by": "day", "day": "",
                                     "starts_on": "2026-11-23"})
        assert bad.status_code == 422
        html = bad.get_data(as_text=True)
        assert 'id="e-name"' in html  # the name, and in the same answer the recurrence's day, in Chinese
        assert "请填写每月的日期" in html
        assert db.session.scalar(sa.select(sa.func.count(DrillCycle.id))) == 0
        ok = client.post(url, data={"name": "全厂每月综合演练", "preset": "monthly_large", "starts_on": "2026-11-23",
                                    "start_time": "15:00"})
        assert ok.status_code == 302, re.findall(r"error[^>]*>([^<]*)<", ok.get_data(as_text=True))
        cycle = db.session.scalar(sa.select(DrillCycle))
        assert cycle.rule == {"freq": "monthly", "nth": 1, "weekday": 4} and cycle.start_time == "15:00"
        detail = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "每月第 1 个星期五" in detail
    assert "2026-12-04" in detail  # the first Friday of December


def test_the_occurrence_list_filters_by_status_and_the_excuse_form_works(client, people, login, weekly):
    with at("2026-11-11"):
        cycle = weekly()
    with at("2026-11-24"):
        login("ent-a")
        overdue_page = client.get("/occurrences?status=overdue").get_data(as_text=True)
        assert "2026-11-16" in overdue_page and "2026-11-30" not in overdue_page
        first = cycle_occurrences(cycle)[0]
        response = client.post(f"/occurrences/{first.id}/excuse", data={"reason": "设备检修停产", "next": "/occurrences"})
        assert response.status_code == 302
        db.session.refresh(first)
        assert first.excuse_reason == "设备检修停产"
        empty = client.post(f"/occurrences/{cycle_occurrences(cycle)[1].id}/excuse", data={"reason": ""})
        assert empty.status_code == 302
        assert cycle_occurrences(cycle)[1].excused_at is None


# --- API ---------------------------------------------------------------------------------------------------

def test_cycles_and_occurrences_through_the_api(client, people, token_for):
    ent_a = token_for("ent-a") | {"Accept-Language": "en"}
    ent_b = token_for("ent-b") | {"Accept-Language": "en"}
    bad = client.post("/api/v1/drill-cycles", headers=ent_a, json={
        "name": "月度演练", "preset": "custom", "rule": {"freq": "monthly", "nth": 6, "weekday": 4},
        "starts_on": "2026-11-23"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"rule.nth"}
    with at("2026-11-23"):
        created = client.post("/api/v1/drill-cycles", headers=ent_a, json={
            "name": "月末演练", "preset": "custom", "rule": {"freq": "monthly", "day": 31},
            "start_time": "14:00", "starts_on": "2026-11-23"})
        assert created.status_code == 201, created.get_json()
        cycle = created.get_json()
        assert cycle["rule_text"] == "Every month, day 31"
        listed = client.get(f"/api/v1/occurrences?cycle_id={cycle['id']}", headers=ent_a).get_json()
        # 遇节假日顺延 is on by default: 31 January 2027 is a Sunday, so that drill moves to Monday
        # (provisionally: the holidays of 2027 are not confirmed in these tests).
        assert [o["due_on"] for o in listed][:3] == ["2026-11-30", "2026-12-31", "2027-02-01"]
        assert [(o["moved_from"], o["provisional_year"]) for o in listed][:3] == [
            (None, None), (None, None), ("2027-01-31", 2027)]
        assert cycle["shift_holidays"] is True
        assert listed[0]["status"] == "upcoming"
        assert client.get(f"/api/v1/drill-cycles/{cycle['id']}", headers=ent_b).status_code == 404
        assert client.get(f"/api/v1/occurrences?cycle_id={cycle['id']}", headers=ent_b).get_json() == []
        assert client.post(f"/api/v1/occurrences/{listed[0]['id']}/excuse", headers=ent_b,
                           json={"reason": "x"}).status_code == 404
        changed = client.patch(f"/api/v1/drill-cycles/{cycle['id']}", headers=ent_a,
                               json={"rule": {"freq": "monthly", "nth": -1, "weekday": 4}})
        assert changed.status_code == 200, changed.get_json()
        again = client.get(f"/api/v1/occurrences?cycle_id={cycle['id']}", headers=ent_a).get_json()
        assert [o["due_on"] for o in again][:2] == ["2026-11-27", "2026-12-25"]
        excused = client.post(f"/api/v1/occurrences/{again[0]['id']}/excuse", headers=ent_a,
                              json={"reason": "停产"})
        assert excused.status_code == 200 and excused.get_json()["status"] == "excused"
        stopped = client.delete(f"/api/v1/drill-cycles/{cycle['id']}", headers=ent_a)
        assert stopped.status_code == 200 and stopped.get_json()["active"] is False
        left = client.get(f"/api/v1/occurrences?cycle_id={cycle['id']}", headers=ent_a).get_json()
        assert [o["status"] for o in left] == ["excused"]
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/drill-cycles", "/api/v1/drill-cycles/{cycle_id}", "/api/v1/occurrences",
                 "/api/v1/occurrences/{occurrence_id}/excuse"):
        assert path in spec["paths"], path
