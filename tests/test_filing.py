"""Filing (备案) through the pages and the scheduler's sweep: materials checked before
submission, a return that lists every item at once and the resubmission, acceptance with a
number and a registration form read back from the PDF, deemed filing after five working days,
reminders sent once per milestone, all on Chinese working days (2026's National Day)."""
from __future__ import annotations

import subprocess
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.messaging.models import Campaign, Delivery
from emergency.core.timeutil import SHANGHAI
from plans.filing import operations as filing_ops
from plans.filing.models import FilingStatus

from .conftest import PASSWORD, no_quiet_hours
from .factories import add_materials
from .test_plans import flashes

D = date.fromisoformat
HOTEL_PLAN = "乙酒店综合应急预案"


def browser_for(app, username: str):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    browser.post("/lang/en")
    return browser


def at(day: str, hour: int = 10):
    """Travel to ``day`` at ``hour`` o'clock in Shanghai."""
    return time_machine.travel(datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def hotel(people):
    """Enterprise B, a small hotel: a crowded place that files, without expert review."""
    return people["other"]


def sms_bodies(enterprise_id: int) -> list[str]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Campaign.body).where(Campaign.enterprise_id == enterprise_id)
                              .order_by(Campaign.id)).all()


def test_the_filing_clock_runs_over_national_day(app, people, hotel, make_filing):
    # Published on Friday 25 September 2026 (Mid-Autumn Festival, a day off): the 20 working
    # days skip 26–27 September and 1–7 October and count Saturday 10 October (worked), so the
    # deadline is 29 October.
    with at("2026-09-25"):
        filing = make_filing(hotel, by=people["officer"], title=HOTEL_PLAN)
        assert filing.submit_by == D("2026-10-29")
    # Submitted on 30 September: the bureau's five working days end on 13 October.
    with at("2026-09-30"):
        filing_ops.submit(people["other_enterprise"], filing, {})
        db.session.commit()
        assert filing.decide_by == D("2026-10-13")
        assert filing_ops.working_days_left(filing) == 5
    with at("2026-10-08"):
        assert filing_ops.working_days_left(filing) == 4
    with at("2026-10-10"):  # a worked Saturday: 12 and 13 October are left
        assert filing_ops.working_days_left(filing) == 2


def test_missing_materials_are_named_before_submission(app, people, hotel, make_filing):
    filing = make_filing(hotel, by=people["officer"], title=HOTEL_PLAN, with_materials=False)
    ent_b = browser_for(app, "ent-b")
    page = ent_b.get(f"/filings/{filing.id}").get_data(as_text=True)
    assert 'data-material="risk_assessment" class="missing"' in page
    response = ent_b.post(f"/filings/{filing.id}/submit", data={"applicant_name": "钱经理", "applicant_phone": "13600001234"})
    message = flashes(ent_b.get(response.headers["Location"]))
    assert "Missing: Risk assessment result、Emergency resource survey." in message
    db.session.expire_all()
    assert filing.status == FilingStatus.due and filing.submitted_at is None
    add_materials(people["officer"], filing.version)  # attachments may follow publication
    db.session.commit()
    response = ent_b.post(f"/filings/{filing.id}/submit", data={"applicant_name": "钱经理", "applicant_phone": "13600001234"})
    assert "The bureau decides within 5 working days" in flashes(ent_b.get(response.headers["Location"]))
    db.session.expire_all()
    assert filing.status == FilingStatus.submitted and filing.applicant_name == "钱经理"


def test_a_return_lists_every_item_and_the_resubmission_is_filed(app, people, hotel, make_enterprise, make_filing):
    no_quiet_hours()  # what is sent, not when: quiet hours are tested with the messaging
    filing = make_filing(hotel, by=people["officer"], title=HOTEL_PLAN)
    ent_b = browser_for(app, "ent-b")
    officer = browser_for(app, "duty")
    ent_b.post(f"/filings/{filing.id}/submit", data={})
    queue = officer.get("/filings").get_data(as_text=True)
    assert f'data-filing="{filing.id}"' in queue.split('id="waiting"')[1].split('id="overdue"')[0]

    # Nothing ticked: refused, nothing changes.
    officer.post(f"/filings/{filing.id}/return", data={"note": "?"})
    db.session.expire_all()
    assert filing.status == FilingStatus.submitted
    officer.post(f"/filings/{filing.id}/return", data={"items": ["risk_assessment", "signature"],
                                                        "note": "风险评估结果未盖章；预案未见主要负责人签字。"})
    db.session.expire_all()
    assert filing.status == FilingStatus.returned and filing.return_items == ["risk_assessment", "signature"]
    page = ent_b.get(f"/filings/{filing.id}").get_data(as_text=True)
    returned = page.split('id="returned"')[1].split("</section>")[0]
    assert "Risk assessment result" in returned and "Not signed by the principal" in returned
    assert "风险评估结果未盖章" in returned
    assert "备案材料需补正：风险评估结果、未经主要负责人签署" in sms_bodies(hotel.id)[-1]
    # The enterprise cannot decide for itself.
    assert ent_b.post(f"/filings/{filing.id}/accept").status_code == 403

    ent_b.post(f"/filings/{filing.id}/submit", data={})
    officer.post(f"/filings/{filing.id}/accept")
    db.session.expire_all()
    year = datetime.now(SHANGHAI).year
    assert filing.status == FilingStatus.accepted and filing.number == f"330999-{year}-0001"
    assert [e.action for e in filing.events] == ["opened", "submitted", "returned", "resubmitted", "accepted"]
    assert f"备案编号330999-{year}-0001" in sms_bodies(hotel.id)[-1]
    assert db.session.scalars(sa.select(Delivery.phone).join(Campaign).where(
        Campaign.source_key == f"filing-{filing.id}-accepted")).all() == [hotel.safety_manager_mobile]

    form = officer.get(f"/filings/{filing.id}/form.pdf")
    assert form.status_code == 200 and form.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=form.data, capture_output=True,
                          check=True).stdout.decode()
    for expected in ("应急预案备案登记表", hotel.name, hotel.credit_code, f"330999-{year}-0001", "乙酒店综合应急预案",
                     "测试县应急管理局", "风险评估结果", "应急资源调查清单", "李四"):
        assert expected in text, expected
    # The next filing in the county and year gets the next number.
    second = make_filing(make_enterprise(name="丙宾馆", industry="hotel", scale="small"), by=people["officer"], title=HOTEL_PLAN)
    filing_ops.submit(people["officer"], second, {})
    filing_ops.accept(people["officer"], second)
    assert second.number == f"330999-{year}-0002"
    # Enterprise A sees neither B's filing nor its form.
    ent_a = browser_for(app, "ent-a")
    assert ent_a.get(f"/filings/{filing.id}").status_code == 404
    assert ent_a.get(f"/filings/{filing.id}/form.pdf").status_code == 404


def test_five_working_days_without_a_decision_is_deemed_filed_once(app, people, hotel, make_filing):
    with at("2026-09-30"):
        filing = make_filing(hotel, by=people["officer"], title=HOTEL_PLAN)
        filing_ops.submit(people["other_enterprise"], filing, {})
        db.session.commit()
    with at("2026-10-13", 20):  # the last day: still the bureau's
        assert filing_ops.sweep()["deemed"] == 0
    with at("2026-10-14", 8):
        counts = filing_ops.sweep()
        assert counts["deemed"] == 1
        assert filing_ops.sweep()["deemed"] == 0  # a repeated sweep changes nothing
    db.session.expire_all()
    assert filing.status == FilingStatus.deemed_filed and filing.number.startswith("330999-2026-")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "deem_filed"))
    assert entry.object_id == filing.id and entry.user_id is None
    notices = [b for b in sms_bodies(hotel.id) if "视为已备案" in b]
    assert len(notices) == 1
    officer = browser_for(app, "duty")
    assert "Deemed filed" in officer.get(f"/filings/{filing.id}").get_data(as_text=True)
    assert officer.get(f"/filings/{filing.id}/form.pdf").status_code == 200


def test_reminders_at_ten_and_three_working_days_and_when_overdue_each_once(app, people, hotel, make_filing):
    with at("2026-09-25"):
        filing = make_filing(hotel, by=people["officer"], title=HOTEL_PLAN)  # due 29 October
    with at("2026-10-09"):  # 14 working days left: nothing yet
        assert filing_ops.sweep()["reminded"] == 0
    with at("2026-10-15"):  # 10 left
        assert filing_ops.sweep()["reminded"] == 1
        assert filing_ops.sweep()["reminded"] == 0
    with at("2026-10-16"):  # 9 left: the ten-day reminder is not repeated
        assert filing_ops.sweep()["reminded"] == 0
    with at("2026-10-26"):  # 3 left
        assert filing_ops.sweep()["reminded"] == 1
    with at("2026-10-29"):  # the deadline itself
        assert filing_ops.sweep()["reminded"] == 0
    with at("2026-10-30"):
        assert filing_ops.sweep()["reminded"] == 1
        assert filing_ops.sweep()["reminded"] == 0
    bodies = sms_bodies(hotel.id)
    assert [b for b in bodies if "还剩" in b] == [
        "【测试县应急管理局】贵单位《乙酒店综合应急预案》须在2026-10-29前报送备案，还剩10个工作日。",
        "【测试县应急管理局】贵单位《乙酒店综合应急预案》须在2026-10-29前报送备案，还剩3个工作日。"]
    assert sum("现已逾期" in b for b in bodies) == 1
    campaigns = db.session.scalars(sa.select(Campaign).where(Campaign.source_key.like(f"filing-{filing.id}-%"))).all()
    assert {c.priority for c in campaigns} == {"normal"}  # quiet hours apply
    with at("2026-10-30"):
        queue = browser_for(app, "duty").get("/filings").get_data(as_text=True)
    overdue = queue.split('id="overdue"')[1].split('id="to-submit"')[0]
    assert f'data-filing="{filing.id}"' in overdue and "1 working days overdue" in overdue


def test_the_sweep_runs_through_the_queue(app, people, hotel, make_filing):
    from plans.filing.tasks import sweep_filings

    with at("2026-09-30"):
        filing = make_filing(hotel, by=people["officer"], title=HOTEL_PLAN)
        filing_ops.submit(people["other_enterprise"], filing, {})
        db.session.commit()
    with at("2026-10-14"):
        # HUEY_IMMEDIATE in tests: the real task through the real queue, run in-process.
        assert sweep_filings().get() == {"deemed": 1, "reminded": 0, "held": 0}
    db.session.expire_all()
    assert filing.status == FilingStatus.deemed_filed
