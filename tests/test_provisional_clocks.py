"""Statutory clocks never stop: a deadline that runs into a year whose holidays are not
confirmed is provisional (暂定), says so everywhere, holds the bureau's deemed filing, and is
recomputed — audited and announced once — when the admin completes the year's notice.

The tests run with chinese-calendar's data ending in 2026 (1.11): 2027 is the year nobody has
entered, as in every installation in December. The notice used is one made up for the tests
(the real one is in no package yet).
"""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.messaging.models import Campaign
from emergency.core.timeutil import SHANGHAI
from emergency.workdays import calendar
from emergency.workdays.calendar import package_covers
from plans.drills.models import DrillCycle, Occurrence
from plans.filing import operations as filing_ops
from plans.filing.models import Filing, FilingStatus
from plans.plan import operations as plan_ops

from .conftest import PASSWORD, drill_of, no_quiet_hours
from .factories import add_materials

D = date.fromisoformat
Y = 2027
pytestmark = pytest.mark.skipif(package_covers(Y), reason="the installed chinese-calendar already covers 2027: "
                                                          "these tests need a year it does not know")

#: A complete notice of our own making for 2027 (seven holidays, worked weekends).
NOTICE = """
2027-01-01 2027-01-03 元旦 holiday
2027-02-06 至 2027-02-13 春节 放假
2027-02-14 workday 春节调休
2027-02-20 上班 春节调休
2027-04-03 2027-04-05 清明节 holiday
2027-05-01 2027-05-05 劳动节 holiday
2027-06-12 2027-06-14 端午节 holiday
2027-09-15 2027-09-17 中秋节 holiday
2027-10-01 2027-10-07 国庆节 holiday
2027-10-09 workday 国庆节调休
"""
NOTE_ZH = "暂定（2027 年节假日安排尚未录入）"


def at(day: str, hour: int = 10):
    return time_machine.travel(datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SHANGHAI), tick=False)


def browser_for(app, username: str):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return browser


def sms(enterprise_id: int) -> list[str]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Campaign.body).where(Campaign.enterprise_id == enterprise_id)
                              .order_by(Campaign.id)).all()


@pytest.fixture
def hotels(people, make_enterprise):
    """Two small hotels: crowded places that file, without expert review."""
    return people["other"], make_enterprise(name="丙宾馆", industry="hotel", scale="small")


def test_a_december_publication_gets_a_provisional_deadline_everywhere(app, people, hotels):
    hotel, _second = hotels
    no_quiet_hours()
    with at("2026-12-20"):
        ent = browser_for(app, "ent-b")
        plan = plan_ops.create_plan(people["officer"], hotel, {"kind": "comprehensive", "title": "乙酒店综合应急预案"})
        version = plan.versions[0]
        plan_ops.save_section(people["officer"], version, {"title": "应急处置", "body": "<p>疏散。</p>"},
                              version.sections[0])
        add_materials(people["officer"], version)
        drill_of(version)
        db.session.commit()
        # The enterprise publishes on the page: no 500, the filing is open with a deadline.
        response = ent.post(f"/plans/{plan.id}/versions/1/publish",
                            data={"principal_name": "乙总", "signed_on": "2026-12-20"})
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        filing = db.session.scalar(sa.select(Filing).where(Filing.version_id == version.id))
        # 20 working days from Sunday 20 December: 9 in 2026, then 2027 on ordinary weekends.
        assert (filing.submit_by, filing.submit_by_provisional_year) == (D("2027-01-15"), Y)
        page = ent.get(f"/filings/{filing.id}").get_data(as_text=True)
        submit_by = page.split('id="submit-by"')[1].split("</dd>")[0]
        assert "2027-01-15" in submit_by and NOTE_ZH in submit_by
        assert NOTE_ZH in ent.get("/filings").get_data(as_text=True)
        api = ent.get(f"/api/v1/filings/{filing.id}", headers=_token(app, "ent-b")).get_json()
        assert (api["submit_by"], api["submit_by_provisional"], api["submit_by_provisional_year"]) == (
            "2027-01-15", True, Y)
        assert api["provisional_note"] == NOTE_ZH
    # The reminder ten working days before says the date is provisional.
    with at("2027-01-04"):
        filing_ops.sweep()
    assert [b for b in sms(hotel.id) if "还剩" in b] == [
        f"【测试县应急管理局】贵单位《乙酒店综合应急预案》须在2027-01-15 {NOTE_ZH}前报送备案，还剩9个工作日。"]


def _token(app, username: str) -> dict[str, str]:
    response = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_the_notice_completed_moves_every_open_clock_once_audited_and_announced(app, people, hotels, make_filing, make_cycle):
    """The whole December: publish, submit, the held decision, the notice, the recount."""
    hotel, second = hotels
    no_quiet_hours()
    with at("2026-12-20"):
        waiting = make_filing(hotel, by=people["officer"], title="乙酒店综合应急预案")  # not submitted: its submit-by moves
    with at("2026-12-21"):
        submitted = make_filing(second, by=people["officer"], title="丙宾馆综合应急预案")
    with at("2026-12-28"):
        filing_ops.submit(people["officer"], submitted, {})
        db.session.commit()
        # Five working days from Monday 28 December: 29–31 December, then 1 and 4 January.
        assert (submitted.decide_by, submitted.decide_by_provisional_year) == (D("2027-01-04"), Y)
        cycle = make_cycle(second, name="每月一大练", preset="monthly_large", starts_on=D("2026-12-01"))
        january = _occurrence(cycle, "2027-01-01")
        # The first Friday of January 2027 is 1 January (元旦), a weekday: provisionally kept.
        assert (january.due_on, january.moved_from, january.provisional_year) == (D("2027-01-01"), None, Y)
    assert (waiting.submit_by, waiting.submit_by_provisional_year) == (D("2027-01-15"), Y)

    # 5 January: the bureau's clock ran out on a provisional date: held, not deemed filed.
    with at("2027-01-05"):
        assert filing_ops.sweep()["held"] == 1
        assert filing_ops.sweep()["held"] == 0  # noted once
        db.session.expire_all()
        assert submitted.status == FilingStatus.submitted
        officer = browser_for(app, "duty")
        queue = officer.get("/filings").get_data(as_text=True)
        row = queue.split(f'data-filing="{submitted.id}"')[1].split("</tr>")[0]
        assert "待确认日历后判定" in row
        admin = browser_for(app, "admin")
        home = admin.get("/").get_data(as_text=True)
        assert 'id="held-banner"' in home and "/admin/calendar?year=2027" in home
        assert [e.action for e in submitted.events].count("held") == 1

        # The admin pastes the notice: still provisional (not marked complete), nothing moves yet.
        assert admin.post("/admin/calendar/notice?year=2027", data={"lines": NOTICE}).status_code == 302
        db.session.expire_all()
        assert waiting.submit_by_provisional_year == Y
        page = admin.get("/admin/calendar?year=2027").get_data(as_text=True)
        assert "已录入常规节假日：7 / 7" in page

        # Marked complete: the recount runs through the queue.
        assert admin.post("/admin/calendar/years/2027/complete").status_code == 302
        db.session.expire_all()
        # 元旦 1–3 January off: the 20th working day is now Monday 18 January.
        assert (waiting.submit_by, waiting.submit_by_provisional_year) == (D("2027-01-18"), None)
        assert (submitted.decide_by, submitted.decide_by_provisional_year) == (D("2027-01-05"), None)
        # The January drill is history by now (its day has passed): it stays as it was.
        assert _occurrence(cycle, "2027-01-01").due_on == D("2027-01-01")
        trail = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "reschedule")
                                   .order_by(AuditEntry.id)).all()
        assert [(e.object_id, e.changes) for e in trail] == [
            (waiting.id, {"submit_by": ["2027-01-15", "2027-01-18"], "submit_by_provisional_year": [Y, None]}),
            (submitted.id, {"decide_by": ["2027-01-04", "2027-01-05"], "decide_by_provisional_year": [Y, None]}),
        ]
        filing_page = admin.get(f"/filings/{waiting.id}").get_data(as_text=True)
        assert NOTE_ZH not in filing_page.split('id="submit-by"')[1].split("</dd>")[0]
        # One SMS to the enterprise whose deadline moved; none to the one that had submitted.
        moved = [b for b in sms(hotel.id) if "节假日安排调整" in b]
        assert moved == ["【测试县应急管理局】贵单位备案期限已按2027年节假日安排调整：《乙酒店综合应急预案》调整为2027-01-18。"]
        assert not [b for b in sms(second.id) if "节假日安排调整" in b]

        # Recounting again (the daily job, another entry) changes and sends nothing more.
        from plans.filing.tasks import recompute_clocks

        counts = recompute_clocks().get()
        assert (counts["moved"], counts["confirmed"], counts["notified"]) == (0, 0, 0)
        assert len([b for b in sms(hotel.id) if "节假日安排调整" in b]) == 1
        # Not deemed on the 5th: 5 January is the fifth working day itself.
        assert filing_ops.sweep()["deemed"] == 0
    with at("2027-01-06"):
        assert filing_ops.sweep()["deemed"] == 1
    db.session.expire_all()
    assert submitted.status == FilingStatus.deemed_filed
    assert 'id="held-banner"' not in browser_for(app, "admin").get("/").get_data(as_text=True)


def test_completed_in_december_moves_drills_and_a_later_correction_recounts_again(app, people, hotels, make_filing, make_cycle):
    hotel, _second = hotels
    no_quiet_hours()
    with at("2026-12-20"):
        filing = make_filing(hotel, by=people["officer"], title="乙酒店综合应急预案")
        cycle = make_cycle(hotel, name="每月一大练", preset="monthly_large", starts_on=D("2026-12-01"))
        assert _occurrence(cycle, "2027-01-01").provisional_year == Y
        admin = browser_for(app, "admin")
        assert admin.post("/admin/calendar/notice?year=2027", data={"lines": NOTICE}).status_code == 302
        assert admin.post("/admin/calendar/years/2027/complete").status_code == 302
        db.session.expire_all()
        assert filing.submit_by == D("2027-01-18")
        # The first Friday of January is 元旦: the drill moves to Monday 4 January, same occurrence.
        january = _occurrence(cycle, "2027-01-01")
        assert (january.due_on, january.moved_from, january.provisional_year) == (D("2027-01-04"), D("2027-01-01"),
                                                                                  None)
        # A correction: 4 January is declared a day off too.
        assert admin.post("/admin/calendar/days", data={"date": "2027-01-04", "kind": "holiday",
                                                        "name": "元旦"}).status_code == 302
        db.session.expire_all()
        assert (filing.submit_by, filing.submit_by_provisional_year) == (D("2027-01-19"), None)
    moved = [b for b in sms(hotel.id) if "节假日安排调整" in b]
    assert [m.rsplit("调整为", 1)[1] for m in moved] == ["2027-01-18。", "2027-01-19。"]


def test_one_line_entered_does_not_confirm_the_year(app, people, hotels):
    """Entering 元旦 alone keeps 2027 provisional: the Spring Festival is not silently worked."""
    hotel, _second = hotels
    with at("2026-12-20"):
        admin = browser_for(app, "admin")
        assert admin.post("/admin/calendar/days", data={"date": "2027-01-01", "kind": "holiday",
                                                        "name": "元旦"}).status_code == 302
        assert calendar.coverage(Y) == calendar.Coverage.overrides and not calendar.confirmed(Y)
        found = calendar.deadline(D("2027-02-01"), 5)
        assert found.provisional_year == Y
        page = admin.get("/admin/calendar?year=2027").get_data(as_text=True)
        assert "已录入常规节假日：1 / 7" in page and "✗ 春节" in page
        api = admin.get("/api/v1/calendar/holidays?year=2027", headers=_token(app, "admin")).get_json()
        assert (api["coverage"], api["confirmed"]) == ("overrides", False)
        assert [h["name"] for h in api["usual_holidays"] if h["entered"]] == ["元旦"]
        assert api["message"] == NOTE_ZH


def test_completing_a_year_through_the_api(app, people, client, token_for):
    admin, officer = token_for("admin"), token_for("duty")
    with at("2026-12-20"):
        refused = client.post("/api/v1/calendar/years/2027/complete", headers=admin)
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "year"
        assert client.post("/api/v1/calendar/years/2026/complete", headers=admin).status_code == 422  # package
        client.post("/api/v1/calendar/holidays", headers=admin,
                    json={"date": "2027-01-01", "end": "2027-01-03", "kind": "holiday", "name": "元旦"})
        assert client.post("/api/v1/calendar/years/2027/complete", headers=officer).status_code == 403
        done = client.post("/api/v1/calendar/years/2027/complete", headers=admin)
        assert done.status_code == 200 and done.get_json()["complete"] is True
        assert client.get("/api/v1/calendar/holidays?year=2027", headers=officer).get_json()["confirmed"] is True
        reopened = client.delete("/api/v1/calendar/years/2027/complete", headers=admin)
        assert reopened.status_code == 200 and reopened.get_json()["complete"] is False
        assert client.delete("/api/v1/calendar/years/2027/complete", headers=admin).status_code == 422
        assert client.post("/api/v1/calendar/years/99999/complete", headers=admin).status_code == 404
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "calendar_year")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["complete", "reopen"]


# --- drill cycles: 遇节假日顺延 ------------------------------------------------------------

def _occurrence(cycle: DrillCycle, planned: str) -> Occurrence:
    db.session.expire_all()
    return db.session.scalar(sa.select(Occurrence).where(Occurrence.key == f"c{cycle.id}-{planned}"))


def test_a_cycle_moves_drills_off_days_off_and_old_cycles_keep_theirs(app, people, make_cycle):
    from plans.drills import cycles, occurrences

    enterprise = people["own"]
    with at("2026-09-20"):
        cycle = make_cycle(enterprise, name="每月一大练", preset="monthly_large", starts_on=D("2026-09-20"))  # first Friday: 2 October, National Day
        october = _occurrence(cycle, "2026-10-02")
        # 2–7 October off, 10 October (Saturday) worked: the next working day is the 8th.
        assert (october.due_on, october.moved_from, october.provisional_year) == (D("2026-10-08"), D("2026-10-02"),
                                                                                  None)
        assert october.window_end == D("2026-10-14")  # the grace days run from the day it moved to
        assert to_shanghai(october.scheduled_at) == "2026-10-08 14:30"
        # A cycle from before the setting existed (NULL) keeps the rule's days until edited.
        legacy = cycles.create_cycle(None, enterprise, {"name": "旧周期", "preset": "monthly_large",
                                                        "starts_on": D("2026-09-01")})
        legacy.shift_holidays = None
        occurrences.refresh_cycle(legacy)
        db.session.commit()
        assert _occurrence(legacy, "2026-10-02").due_on == D("2026-10-02")
        ent = browser_for(app, "ent-a")
        form = ent.get(f"/drill-cycles/{legacy.id}/edit").get_data(as_text=True)
        assert re.search(r'name="shift_holidays" value="1"\s+checked', form)  # offered ticked when next edited
        page = ent.get(f"/drill-cycles/{cycle.id}").get_data(as_text=True)
        assert "顺延" in page and "2026-10-08" in page


def to_shanghai(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# --- the clock's start and superseded versions ----------------------------------------------

def test_the_clock_runs_from_the_publication_date_recorded(app, people, hotels, make_filing):
    hotel, _second = hotels
    with at("2026-10-30"):
        officer = people["officer"]
        # Published on 25 September (recorded a month later): due 29 October, already overdue.
        filing = make_filing(hotel, by=officer, signed_on=D("2026-09-25"))
        assert (filing.clock_start, filing.submit_by) == (D("2026-09-25"), D("2026-10-29"))
        assert filing_ops.working_days_left(filing) == -1


def _revise_and_publish(people, filing: Filing, *, key_change: bool):
    officer = people["officer"]
    plan = filing.version.plan
    draft = plan_ops.start_revision(officer, plan, {"revision_trigger": "law_changed", "revision_note": "修订"})
    if key_change:
        command = next(s for s in draft.sections if s.key_part == "command")
        plan_ops.save_section(officer, draft, {"title": command.title, "body": "<p>新的指挥机构。</p>"}, command)
    else:
        plain = next(s for s in draft.sections if not s.key_part)
        plan_ops.save_section(officer, draft, {"title": plain.title, "body": "<p>文字修改。</p>"}, plain)
    add_materials(officer, draft)
    plan_ops.publish(officer, draft, {"principal_name": "乙总", "signed_on": datetime.now(SHANGHAI).date()})
    db.session.commit()
    return draft


def test_a_new_version_that_must_be_filed_supersedes_the_open_filing(app, people, hotels, make_filing):
    hotel, _second = hotels
    with at("2026-10-12"):
        old = make_filing(hotel, by=people["officer"], title="乙酒店综合应急预案")
    with at("2026-10-20"):
        draft = _revise_and_publish(people, old, key_change=True)
        new = db.session.scalar(sa.select(Filing).where(Filing.version_id == draft.id))
        db.session.expire_all()
        assert new is not None and new.status == FilingStatus.due
        assert (old.status, old.superseded_by_id) == (FilingStatus.superseded, new.id)
        page = browser_for(app, "ent-b").get(f"/filings/{old.id}").get_data(as_text=True)
        assert f'href="/filings/{new.id}"' in page.split('id="superseded-by"')[1]
        queue = browser_for(app, "duty").get("/filings").get_data(as_text=True)
        assert f'data-filing="{old.id}"' not in queue.split('id="decided"')[0]
    # The superseded filing is never chased: no reminder for it, even when its date passes.
    with at("2026-11-20"):
        filing_ops.sweep()
    assert not db.session.scalars(sa.select(Campaign.source_key).where(
        Campaign.source_key.like(f"filing-{old.id}-%"))).all()
    assert db.session.scalar(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "filing", AuditEntry.object_id == old.id,
        AuditEntry.action == "supersede")) == "supersede"


def test_a_new_version_that_needs_no_filing_carries_the_open_filing_over(app, people, hotels, make_filing):
    hotel, _second = hotels
    with at("2026-10-12"):
        old = make_filing(hotel, by=people["officer"], title="乙酒店综合应急预案")
        due = old.submit_by
    with at("2026-10-20"):
        draft = _revise_and_publish(people, old, key_change=False)
        db.session.expire_all()
        filings = db.session.scalars(sa.select(Filing).order_by(Filing.id)).all()
        assert len(filings) == 1
        assert (filings[0].id, filings[0].version_id, filings[0].status, filings[0].submit_by) == (
            old.id, draft.id, FilingStatus.due, due)
        assert [e.action for e in filings[0].events][-1] == "carried_over"


# --- no 500 from a clock, ever ------------------------------------------------------------------

def test_nothing_answers_5xx_with_2027_unconfirmed(app, people, hotels, tmp_path, make_filing):
    hotel, second = hotels
    no_quiet_hours()
    with at("2026-12-28"):
        returned = make_filing(hotel, by=people["officer"], title="乙酒店综合应急预案")
        accepted = make_filing(second, by=people["officer"], title="丙宾馆综合应急预案")
        ent, officer, admin = browser_for(app, "ent-b"), browser_for(app, "duty"), browser_for(app, "admin")
        assert ent.post(f"/filings/{returned.id}/submit", data={}).status_code == 302
        assert officer.post(f"/filings/{accepted.id}/submit", data={}).status_code == 302
        db.session.expire_all()
        assert returned.decide_by_provisional_year == Y
        assert officer.post(f"/filings/{returned.id}/return",
                            data={"items": ["risk_assessment"], "note": "请补正"}).status_code == 302
        assert officer.post(f"/filings/{accepted.id}/accept").status_code == 302
        token = _token(app, "duty")
        for path in ("/", "/filings", f"/filings/{returned.id}", f"/filings/{accepted.id}", "/dashboard/plans",
                     "/dashboard/drills", "/occurrences", "/drills/calendar", "/admin/calendar?year=2027",
                     f"/filings/{accepted.id}/form.pdf",
                     f"/plans/{accepted.version.plan_id}/versions/1/plan.pdf"):
            for browser in (officer, admin):
                response = browser.get(path)
                assert response.status_code < 500, (path, response.status_code)
        for path in ("/api/v1/filings", f"/api/v1/filings/{returned.id}", "/api/v1/calendar/holidays?year=2027",
                     "/api/v1/occurrences"):
            assert client_get(app, path, token) < 500, path
        assert ent.get("/filings").status_code == 200
    for day in ("2026-12-31", "2027-01-08", "2027-02-10"):
        with at(day):
            filing_ops.sweep()
            from plans.drills import reminders

            reminders.sweep()
            reminders.digest()
    db.session.expire_all()
    assert accepted.status == FilingStatus.accepted and returned.status == FilingStatus.returned


def client_get(app, path: str, headers: dict) -> int:
    return app.test_client().get(path, headers=headers).status_code


# --- make run on a December day --------------------------------------------------------------

def test_the_demo_county_loads_on_20_december(app, runner):
    with at("2026-12-20"):
        result = runner.invoke(args=["demo", "load"])
        assert result.exit_code == 0, result.output[-3000:]
        provisional = db.session.scalars(sa.select(Filing).where(Filing.submit_by_provisional_year == Y)).all()
        # Plans published in the last days of the month: their deadlines reach into 2027.
        assert provisional and all(f.submit_by >= date(2027, 1, 1) for f in provisional)
