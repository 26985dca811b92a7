"""Drill records through the pages and the API, as users drive them: a drill of a new plan's
draft with a photo opens the publication gate, a mismatched file is refused and nothing is kept,
corrections are audited, an evaluation's problems become corrective actions (one starting a plan
revision), actions move open → done → verified and refuse other moves, overdue actions are listed
and reminded once, spot checks order corrections that the enterprise answers and the officer
closes, and only officers waive the drill before publication."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.messaging.models import Campaign
from emergency.core.timeutil import SHANGHAI, local_today
from plans.drills import actions as action_ops
from plans.drills import gate, records
from plans.drills.models import (
    ActionStatus,
    CorrectiveAction,
    Drill,
    DrillFile,
    PublicationOverride,
    SpotCheck,
)
from plans.plan import operations as plan_ops
from plans.plan.models import PlanVersion

from .conftest import PASSWORD, drill_of

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EN = {"Accept-Language": "en"}
PROBLEM = "application/problem+json"


def browser_for(app, username: str, english: bool = False):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    if english:
        browser.post("/lang/en")
    return browser


def an_hour_ago() -> str:
    return (datetime.now(SHANGHAI) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def drill_form(**fields):
    return {"title": "储罐区泄漏火灾综合演练", "started_at": an_hour_ago(), "duration_minutes": "90",
            "form": "field", "content": "comprehensive", "purpose": "inspection", "scenario": "二号储罐法兰泄漏起火",
            "location": "二号罐区", "organiser": "安全环保部", "participant_count": "25",
            "participants": "应急救援队、当班操作工", "observers": "县应急管理局王科长"} | fields


A_PLAN = "甲化工生产安全事故综合应急预案"


@pytest.fixture
def new_plan(people, make_plan):
    """Enterprise A's comprehensive plan, its first version a draft."""
    return make_plan(people["own"], by=people["officer"], title=A_PLAN)


@pytest.fixture
def published_plan(people, make_published_plan):
    """A plan of enterprise A (reviewed by experts, as A must), drilled and published."""
    return make_published_plan(people["own"], by=people["officer"], title=A_PLAN, body="<p>适用于本公司。</p>",
                               with_materials=False).plan


def field_errors(body) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in body["errors"]:
        found.setdefault(error["field"], []).append(error["detail"])
    return found


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


def audit_entries(object_type: str, object_id: int, action: str | None = None) -> list[AuditEntry]:
    query = sa.select(AuditEntry).where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


# --- recording a drill -----------------------------------------------------------------------------

def test_drill_of_a_new_draft_with_a_photo_opens_the_publication_gate(app, people, new_plan):
    plan = new_plan
    draft = plan.versions[0]
    assert gate.blockers(draft), "a new plan's first draft is blocked before any drill"
    browser = browser_for(app, "ent-a")
    page = browser.get(f"/plans/{plan.id}/versions/1").get_data(as_text=True)
    assert 'data-state="needs"' in page
    assert f"/drills/new?enterprise_id={people['own'].id}&amp;version_id={draft.id}" in page
    assert 'id="waive-form"' not in page, "only officers see the waiver"
    # The link pre-fills the draft.
    form = browser.get(f"/drills/new?version_id={draft.id}").get_data(as_text=True)
    assert re.search(rf'name="version_ids" value="{draft.id}" checked', form)

    response = browser.post("/drills/new", data=drill_form(version_ids=[str(draft.id)]) | {
        "files": [(__import__("io").BytesIO(PNG_BYTES), "现场照片.png")]}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    drill = db.session.scalars(sa.select(Drill)).one()
    assert [v.id for v in drill.versions] == [draft.id]
    assert drill.participants == ["应急救援队", "当班操作工"] and drill.participant_count == 25
    assert drill.started_at.tzinfo is not None and drill.started_at.utcoffset() == timedelta(0)
    assert drill.reported_at is not None, "a hazardous-chemicals enterprise's drill is reported to the bureau"
    assert [(f.kind, f.file_type, f.filename) for f in drill.files] == [("photo", "png", "现场照片.png")]
    assert audit_entries("drill", drill.id, "create") and audit_entries("drill", drill.id, "attach")

    db.session.expire_all()
    assert gate.drilled(draft) and not gate.blockers(draft)
    page = browser.get(f"/plans/{plan.id}/versions/1").get_data(as_text=True)
    assert 'data-state="drilled"' in page and f"/drills/{drill.id}" in page
    shown = browser.get(f"/drills/{drill.id}").get_data(as_text=True)
    assert "现场照片.png" in shown and "二号罐区" in shown
    photo = browser.get(f"/drill-files/{drill.files[0].id}")
    assert photo.status_code == 200 and photo.data == PNG_BYTES and photo.mimetype == "image/png"
    officer = people["officer"]  # what A's plan needs besides the drill: text and an expert review
    plan_ops.save_section(officer, draft, {"title": draft.sections[0].title, "body": "<p>适用于本公司。</p>"},
                          draft.sections[0])
    plan_ops.record_review(officer, draft, {"held_on": local_today(), "conclusion": "pass", "opinion": "",
                                            "experts": [{"name": "王专家", "organisation": "省安科院",
                                                         "speciality": "化工安全", "no_conflict": True}]})
    db.session.commit()
    published = browser.post(f"/plans/{plan.id}/versions/1/publish",
                             data={"principal_name": "张三", "signed_on": local_today().isoformat()})
    assert published.status_code == 302
    db.session.expire_all()
    assert db.session.get(PlanVersion, draft.id).status.value == "published"


def test_a_mismatched_file_is_refused_naming_the_field_and_nothing_is_kept(app, people, published_plan):
    plan = published_plan
    before = db.session.scalar(sa.select(sa.func.count(Drill.id)))
    browser = browser_for(app, "ent-a", english=True)
    response = browser.post("/drills/new", data=drill_form(version_ids=[str(plan.versions[0].id)]) | {
        "files": [(__import__("io").BytesIO(PDF_BYTES), "现场照片.jpg")]}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="e-file">[^<]*现场照片\.jpg: the content does not match the extension \.jpg', html)
    assert db.session.scalar(sa.select(sa.func.count(Drill.id))) == before, "no half-written drill"
    assert db.session.scalar(sa.select(sa.func.count(DrillFile.id))) == 0
    # Spreadsheets are files we take elsewhere, but not a drill's photo or document.
    drill = db.session.scalars(sa.select(Drill)).first()
    xlsx = browser.post(f"/drills/{drill.id}/files", data={"files": [(__import__("io").BytesIO(PDF_BYTES), "x.exe")]},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "x.exe" in xlsx.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(DrillFile.id))) == 0


def test_field_errors_name_the_field_and_rule(app, people):
    browser = browser_for(app, "ent-a", english=True)
    future = (datetime.now(SHANGHAI) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = browser.post("/drills/new", data=drill_form(started_at=future, form="parade", title=""))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="e-started_at">A drill is recorded after it took place', html)
    assert re.search(r'id="e-title">This field is required', html)
    assert "Must be one of: tabletop, field." in html
    assert db.session.scalar(sa.select(sa.func.count(Drill.id))) == 0
    # The API says the same as problem details.
    headers = {**browser_token(browser, app), **EN}
    body = problem(app.test_client().post("/api/v1/drills", headers=headers, json={
        "title": "x", "started_at": "2020-01-01T09:00", "duration_minutes": 1, "form": "tabletop",
        "content": "single", "purpose": "inspection"}), 422)
    assert field_errors(body) == {"duration_minutes": ["Must be between 5 and 10080."]}


def browser_token(_browser, app, username: str = "ent-a") -> dict[str, str]:
    response = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_a_correction_is_audited_and_a_drill_is_never_deleted(app, people, published_plan):
    plan = published_plan
    drill = db.session.scalars(sa.select(Drill)).one()
    browser = browser_for(app, "ent-a")
    form = browser.get(f"/drills/{drill.id}/edit").get_data(as_text=True)
    assert drill.title in form
    response = browser.post(f"/drills/{drill.id}/edit", data=drill_form(
        title=drill.title, location="三号罐区", version_ids=[str(plan.versions[0].id)]))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    drill = db.session.get(Drill, drill.id)
    assert drill.location == "三号罐区"
    update = audit_entries("drill", drill.id, "update")[-1]
    assert update.changes["location"] == ["", "三号罐区"]
    # The superseded-or-not version it exercised stays acceptable on a correction.
    assert [v.id for v in drill.versions] == [plan.versions[0].id]
    api = app.test_client()
    headers = browser_token(browser, app)
    assert api.delete(f"/api/v1/drills/{drill.id}", headers=headers).status_code == 405
    patched = api.patch(f"/api/v1/drills/{drill.id}", headers=headers, json={"organiser": "生产部"})
    assert patched.status_code == 200 and patched.get_json()["organiser"] == "生产部"
    assert audit_entries("drill", drill.id, "update")[-1].changes["organiser"] == ["安全环保部", "生产部"]


def test_a_revision_draft_is_not_a_version_a_drill_exercises(app, people, token_for, published_plan):
    plan = published_plan
    revision = plan_ops.start_revision(people["officer"], plan, {"revision_trigger": "risk_changed"})
    db.session.commit()
    body = problem(app.test_client().post("/api/v1/drills", headers={**token_for("ent-a"), **EN}, json={
        "title": "复盘推演", "started_at": an_hour_ago(), "duration_minutes": 60, "form": "tabletop",
        "content": "single", "purpose": "research", "version_ids": [revision.id]}), 422)
    assert list(field_errors(body)) == ["version_ids"]
    assert "published version or a new plan's draft" in field_errors(body)["version_ids"][0]


# --- evaluation and corrective actions ------------------------------------------------------------

def evaluation_form(plan_id: int, **fields):
    due = (local_today() + timedelta(days=30)).isoformat()
    return {"evaluated_on": local_today().isoformat(), "evaluator": "县安科院评估组",
            "objective": ["信息报告及时准确", "初期火灾扑救", ""], "rating": ["good", "poor", ""],
            "objective_note": ["", "泡沫炮出水延迟4分钟", ""], "summary": "总体达到预期目标。",
            "plan_revision_needed": "1", "revision_sections": "应急响应、应急保障",
            "problem": ["泡沫炮出水延迟", "对讲机信号盲区", ""], "problem_action": ["增加泡沫炮日常试水", "增设中继台", ""],
            "owner_name": ["王强", "赵敏", ""], "owner_mobile": ["13812345678", "", ""], "due_on": [due, due, ""],
            "revise_plan_id": [str(plan_id), "", ""]} | fields


def test_evaluation_problems_become_actions_and_one_starts_a_revision(app, people, published_plan):
    plan = published_plan
    drill = db.session.scalars(sa.select(Drill)).one()
    browser = browser_for(app, "ent-a", english=True)
    # A rating left out is named, and nothing is written.
    refused = browser.post(f"/drills/{drill.id}/evaluation", data=evaluation_form(plan.id, rating=["good", "", ""]))
    assert refused.status_code == 422
    assert 'data-field="objectives.1.rating"' in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CorrectiveAction.id))) == 0
    assert plan.draft is None

    response = browser.post(f"/drills/{drill.id}/evaluation", data=evaluation_form(plan.id))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    drill = db.session.get(Drill, drill.id)
    evaluation = drill.evaluation
    assert [o["rating"] for o in evaluation.objectives] == ["good", "poor"]
    assert evaluation.plan_revision_needed and evaluation.revision_sections == ["应急响应", "应急保障"]
    found = evaluation.actions
    assert [(a.problem, a.owner_name, a.status) for a in found] == [
        ("泡沫炮出水延迟", "王强", ActionStatus.open), ("对讲机信号盲区", "赵敏", ActionStatus.open)]
    assert found[0].owner_mobile == "+8613812345678"
    revision = db.session.get(PlanVersion, found[0].revision_version_id)
    assert revision.plan_id == plan.id and revision.number == 2 and revision.revision_trigger == "found_in_response"
    assert found[1].revision_version_id is None
    page = browser.get(f"/drills/{drill.id}").get_data(as_text=True)
    assert f"/plans/{plan.id}/versions/2" in page
    # The second problem joins the revision already started from this drill.
    joined = browser.post(f"/corrective-actions/{found[1].id}/revision", data={"plan_id": plan.id})
    assert joined.status_code == 302 and joined.headers["Location"].endswith(f"/plans/{plan.id}/versions/2")
    db.session.expire_all()
    assert db.session.get(CorrectiveAction, found[1].id).revision_version_id == revision.id
    # The API reads the same evaluation back.
    got = app.test_client().get(f"/api/v1/drills/{drill.id}/evaluation", headers=browser_token(browser, app))
    assert got.status_code == 200 and [a["problem"] for a in got.get_json()["actions"]] == ["泡沫炮出水延迟", "对讲机信号盲区"]


def test_evaluation_through_the_api(app, people, token_for, published_plan):
    plan = published_plan
    drill = db.session.scalars(sa.select(Drill)).one()
    api, headers = app.test_client(), {**token_for("ent-a"), **EN}
    assert problem(api.get(f"/api/v1/drills/{drill.id}/evaluation", headers=headers), 404)
    body = problem(api.put(f"/api/v1/drills/{drill.id}/evaluation", headers=headers, json={
        "evaluated_on": local_today().isoformat(), "objectives": [{"objective": "疏散", "rating": "fine"}],
        "plan_revision_needed": True}), 422)
    assert set(field_errors(body)) == {"objectives.0.rating", "revision_sections"}
    due = (local_today() + timedelta(days=10)).isoformat()
    saved = api.put(f"/api/v1/drills/{drill.id}/evaluation", headers=headers, json={
        "evaluated_on": local_today().isoformat(), "objectives": [{"objective": "疏散", "rating": "adequate"}],
        "problems": [{"problem": "集合点标识不清", "owner_name": "钱七", "due_on": due, "revise_plan_id": plan.id},
                     {"problem": "广播音量不足", "owner_name": "孙八", "due_on": due}]})
    assert saved.status_code == 200, saved.get_json()
    actions = saved.get_json()["actions"]
    assert len(actions) == 2 and actions[0]["revision_version_id"] and actions[1]["revision_version_id"] is None
    assert plan_ops and db.session.get(PlanVersion, actions[0]["revision_version_id"]).revision_trigger == \
        "found_in_response"


def make_action(people, due_in_days: int = 10, enterprise="own", mobile=None) -> CorrectiveAction:
    enterprise_row = people[enterprise]
    drill = records.record_drill(people["officer"], enterprise_row, {
        "title": "消防疏散演练", "started_at": datetime.now(SHANGHAI) - timedelta(days=20), "duration_minutes": 30,
        "form": "field", "content": "single", "purpose": "inspection"})
    action = action_ops.create_action(people["officer"], drill, {
        "problem": f"{enterprise_row.name}应急照明失效", "owner_name": "周九", "owner_mobile": mobile,
        "due_on": local_today() + timedelta(days=due_in_days)})
    db.session.commit()
    return action


def test_action_goes_open_done_verified_and_refuses_other_moves(app, people, token_for):
    action = make_action(people)
    api, headers = app.test_client(), {**token_for("ent-a"), **EN}
    entries_before = len(audit_entries("corrective_action", action.id))
    body = problem(api.patch(f"/api/v1/corrective-actions/{action.id}", headers=headers,
                             json={"status": "verified"}), 422)
    assert field_errors(body) == {"status": [("A corrective action cannot go from Open to Verified; "
                                              "it goes open → done → verified.")]}
    body = problem(api.patch(f"/api/v1/corrective-actions/{action.id}", headers=headers, json={"status": "done"}), 422)
    assert list(field_errors(body)) == ["evidence"]
    db.session.expire_all()
    unchanged = db.session.get(CorrectiveAction, action.id)
    assert unchanged.status == ActionStatus.open and unchanged.done_at is None and unchanged.evidence == ""
    assert len(audit_entries("corrective_action", action.id)) == entries_before, "a refused move writes nothing"

    done = api.patch(f"/api/v1/corrective-actions/{action.id}", headers=headers,
                     json={"status": "done", "evidence": "已更换应急照明灯12盏并试验合格"})
    assert done.status_code == 200 and done.get_json()["status"] == "done" and done.get_json()["done_at"]
    # The viewer reads, never changes.
    assert problem(api.patch(f"/api/v1/corrective-actions/{action.id}", headers={**token_for("viewer"), **EN},
                             json={"status": "verified"}), 403)
    verified = api.patch(f"/api/v1/corrective-actions/{action.id}", headers=headers, json={"status": "verified"})
    assert verified.status_code == 200 and verified.get_json()["verified_by_id"] == people["enterprise"].id
    assert problem(api.patch(f"/api/v1/corrective-actions/{action.id}", headers=headers,
                             json={"status": "open", "note": "重新整改"}), 422)
    moves = [e.changes.get("status") for e in audit_entries("corrective_action", action.id, "status")]
    assert moves == [["open", "done"], ["done", "verified"]]
    # B's action is out of A's reach.
    other = make_action(people, enterprise="other")
    assert problem(api.get(f"/api/v1/corrective-actions/{other.id}", headers=headers), 404)
    assert problem(api.patch(f"/api/v1/corrective-actions/{other.id}", headers=headers,
                             json={"status": "done", "evidence": "x"}), 404)


def test_action_done_with_an_evidence_file_on_the_page_and_sent_back(app, people):
    action = make_action(people)
    browser = browser_for(app, "ent-a")
    response = browser.post(f"/corrective-actions/{action.id}/status", content_type="multipart/form-data", data={
        "status": "done", "evidence": "", "evidence_file": (__import__("io").BytesIO(PDF_BYTES), "整改报告.pdf")})
    assert response.status_code == 302
    db.session.expire_all()
    action = db.session.get(CorrectiveAction, action.id)
    assert action.status == ActionStatus.done and action.evidence_file.filename == "整改报告.pdf"
    officer = browser_for(app, "duty", english=True)
    refused = officer.post(f"/corrective-actions/{action.id}/status", data={"status": "open"}, follow_redirects=True)
    assert "Say why the fix is sent back." in refused.get_data(as_text=True)
    assert officer.post(f"/corrective-actions/{action.id}/status",
                        data={"status": "open", "note": "照片看不清"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CorrectiveAction, action.id).status == ActionStatus.open


def test_overdue_actions_are_listed_for_the_enterprise_and_the_county(app, people, token_for, county):
    late = make_action(people, due_in_days=-3)
    make_action(people, due_in_days=5)
    b_late = make_action(people, due_in_days=-1, enterprise="other")
    api = app.test_client()
    mine = api.get("/api/v1/corrective-actions?overdue=true", headers=token_for("ent-a")).get_json()
    assert [a["id"] for a in mine] == [late.id]
    county_wide = api.get("/api/v1/corrective-actions?overdue=true", headers=token_for("duty")).get_json()
    assert [a["id"] for a in county_wide] == [late.id, b_late.id]
    elsewhere = county.townships[1]
    people["other"].township = elsewhere
    db.session.commit()
    by_township = api.get(f"/api/v1/corrective-actions?overdue=true&township_id={elsewhere.id}",
                          headers=token_for("duty")).get_json()
    assert [a["id"] for a in by_township] == [b_late.id]

    page = browser_for(app, "ent-a").get("/corrective-actions?overdue=1").get_data(as_text=True)
    assert f'id="action-{late.id}"' in page and f'id="action-{b_late.id}"' not in page
    assert people["other"].name not in page
    officer_page = browser_for(app, "duty").get(f"/corrective-actions?overdue=1&township_id={elsewhere.id}")
    text = officer_page.get_data(as_text=True)
    assert f'id="action-{b_late.id}"' in text and f'id="action-{late.id}"' not in text


def test_remind_overdue_actions_sends_once_per_action(app, people):
    to_owner = make_action(people, due_in_days=-2, mobile="+8613812345678")
    to_manager = make_action(people, due_in_days=-1, enterprise="other")
    make_action(people, due_in_days=3)
    today = local_today()
    assert action_ops.remind_overdue_actions(today) == 2
    assert action_ops.remind_overdue_actions(today) == 0
    assert action_ops.remind_overdue_actions(today + timedelta(days=1)) == 0
    campaigns = {c.source_key: c for c in db.session.scalars(sa.select(Campaign).where(
        Campaign.source_key.like("action-%")))}
    assert set(campaigns) == {f"action-{to_owner.id}-overdue", f"action-{to_manager.id}-overdue"}
    assert campaigns[f"action-{to_owner.id}-overdue"].audience["phones"] == ["+8613812345678"]
    assert campaigns[f"action-{to_manager.id}-overdue"].audience["phones"] == [people["other"].safety_manager_mobile]
    body = campaigns[f"action-{to_owner.id}-overdue"].body
    assert "逾期" in body and "测试县应急管理局" in body and (today - timedelta(days=2)).isoformat() in body
    # A fix done in time for the next sweep is not reminded.
    done = make_action(people, due_in_days=-1)
    action_ops.change_status(people["officer"], done, {"status": "done", "evidence": "已整改"})
    db.session.commit()
    assert action_ops.remind_overdue_actions(today) == 0


# --- spot checks ----------------------------------------------------------------------------------

def test_spot_check_orders_a_correction_the_enterprise_answers_and_the_officer_closes(app, people, token_for, new_plan):
    plan = new_plan
    drill = drill_of(plan.versions[0])
    assert drill.reported_at is not None
    officer = browser_for(app, "duty", english=True)
    listed = officer.get("/drills/reported").get_data(as_text=True)
    assert f"/drills/{drill.id}" in listed
    ent = browser_for(app, "ent-a")
    assert ent.get("/drills/reported").status_code == 403
    assert ent.post(f"/drills/{drill.id}/spot-check", data={"checked_on": local_today().isoformat(),
                                                             "result": "satisfactory"}).status_code == 403

    refused = officer.post(f"/drills/{drill.id}/spot-check", follow_redirects=True, data={
        "checked_on": local_today().isoformat(), "result": "short", "correction_required": "补充演练脚本"})
    assert "Deadline: Give the deadline of the correction." in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0

    due = (local_today() + timedelta(days=15)).isoformat()
    assert officer.post(f"/drills/{drill.id}/spot-check", data={
        "checked_on": local_today().isoformat(), "result": "short", "findings": "未见评估报告",
        "correction_required": "补充演练评估报告并组织复演", "correction_due": due}).status_code == 302
    check = db.session.scalars(sa.select(SpotCheck)).one()
    ordered = action_ops.spot_check_action(check)
    assert check.status == "correction_ordered" and ordered.spot_check_id == check.id
    assert ordered.due_on.isoformat() == due and ordered.status == ActionStatus.open

    page = ent.get(f"/drills/{drill.id}").get_data(as_text=True)
    assert "补充演练评估报告并组织复演" in page and f'action="/spot-checks/{check.id}/answer"' in page
    assert ent.post(f"/spot-checks/{check.id}/close").status_code == 403
    assert ent.post(f"/spot-checks/{check.id}/answer", data={"response": "已补充评估报告，11月30日复演"}).status_code == 302
    db.session.expire_all()
    check = db.session.get(SpotCheck, check.id)
    assert check.status == "answered" and check.responded_at is not None
    assert action_ops.spot_check_action(check).status == ActionStatus.done
    # The bureau's ordered correction is verified by the bureau, not by the enterprise.
    body = problem(app.test_client().patch(f"/api/v1/corrective-actions/{ordered.id}",
                                           headers={**token_for("ent-a"), **EN}, json={"status": "verified"}), 422)
    assert list(field_errors(body)) == ["status"]

    assert officer.post(f"/spot-checks/{check.id}/close").status_code == 302
    db.session.expire_all()
    check = db.session.get(SpotCheck, check.id)
    assert check.status == "closed"
    assert action_ops.spot_check_action(check).status == ActionStatus.verified
    assert [e.action for e in audit_entries("drill_spot_check", check.id)] == ["answer", "close"]


def test_spot_checks_through_the_api(app, people, token_for, new_plan):
    plan = new_plan
    drill = drill_of(plan.versions[0])
    api = app.test_client()
    officer, ent = {**token_for("duty"), **EN}, {**token_for("ent-a"), **EN}
    assert problem(api.post(f"/api/v1/drills/{drill.id}/spot-checks", headers=ent,
                            json={"checked_on": local_today().isoformat(), "result": "satisfactory"}), 403)
    created = api.post(f"/api/v1/drills/{drill.id}/spot-checks", headers=officer, json={
        "checked_on": local_today().isoformat(), "result": "short", "correction_required": "补充签到表",
        "correction_due": (local_today() + timedelta(days=7)).isoformat()})
    assert created.status_code == 201 and created.get_json()["status"] == "correction_ordered"
    check_id = created.get_json()["id"]
    assert problem(api.post(f"/api/v1/spot-checks/{check_id}/close", headers=officer), 422)
    answered = api.post(f"/api/v1/spot-checks/{check_id}/answer", headers=ent, json={"response": "已补充"})
    assert answered.status_code == 200 and answered.get_json()["status"] == "answered"
    assert api.post(f"/api/v1/spot-checks/{check_id}/close", headers=officer).get_json()["status"] == "closed"
    assert [c["id"] for c in api.get("/api/v1/spot-checks", headers=ent).get_json()] == [check_id]
    assert api.get("/api/v1/spot-checks", headers={**token_for("ent-b"), **EN}).get_json() == []


# --- the publication gate: the officer's waiver ---------------------------------------------------

def test_only_an_officer_waives_the_drill_with_a_reason_and_it_is_audited(app, people, new_plan):
    plan = new_plan
    draft = plan.versions[0]
    ent = browser_for(app, "ent-a")
    assert ent.post(f"/plans/{plan.id}/versions/1/waive-drill", data={"reason": "自己免了"}).status_code == 403
    assert browser_for(app, "viewer").post(f"/plans/{plan.id}/versions/1/waive-drill",
                                           data={"reason": "x"}).status_code == 403
    assert gate.override_of(draft) is None

    officer = browser_for(app, "duty", english=True)
    page = officer.get(f"/plans/{plan.id}/versions/1").get_data(as_text=True)
    assert 'id="waive-form"' in page
    refused = officer.post(f"/plans/{plan.id}/versions/1/waive-drill", data={"reason": ""}, follow_redirects=True)
    assert "Reason: This field is required." in refused.get_data(as_text=True)
    assert gate.override_of(draft) is None
    assert officer.post(f"/plans/{plan.id}/versions/1/waive-drill",
                        data={"reason": "企业已于上月参加县级联合演练，覆盖本预案全部内容"}).status_code == 302
    db.session.expire_all()
    override = db.session.scalars(sa.select(PublicationOverride)).one()
    assert override.officer_id == people["officer"].id
    entry = audit_entries("plan_version", draft.id, "waive_drill")[-1]
    assert entry.changes == {"reason": "企业已于上月参加县级联合演练，覆盖本预案全部内容"}
    assert not gate.blockers(db.session.get(PlanVersion, draft.id))
    page = ent.get(f"/plans/{plan.id}/versions/1").get_data(as_text=True)
    assert 'data-state="waived"' in page and "县级联合演练" in page


# --- the API: isolation and the OpenAPI document --------------------------------------------------

def test_api_drills_are_the_callers_own(app, people, token_for, published_plan, make_plan):
    api = app.test_client()
    plan = published_plan
    b_plan = make_plan(people["other"], by=people["officer"], title="乙酒店综合预案")
    b_drill = drill_of(b_plan.versions[0])
    headers = {**token_for("ent-a"), **EN}
    created = api.post("/api/v1/drills", headers=headers, json={
        "enterprise_id": people["other"].id, "title": "桌面推演", "started_at": an_hour_ago(),
        "duration_minutes": 45, "form": "tabletop", "content": "single", "purpose": "inspection",
        "version_ids": [plan.versions[0].id], "participants": ["值班长"], "participant_count": 6})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["enterprise_id"] == people["own"].id, "an enterprise token records its own drills"
    assert created.get_json()["started_at"].endswith("+00:00")
    listed = api.get("/api/v1/drills", headers=headers).get_json()
    assert b_drill.id not in {d["id"] for d in listed} and {d["enterprise_id"] for d in listed} == {people["own"].id}
    assert problem(api.get(f"/api/v1/drills/{b_drill.id}", headers=headers), 404)
    assert problem(api.patch(f"/api/v1/drills/{b_drill.id}", headers=headers, json={"location": "x"}), 404)
    # B's plan version cannot be named by A.
    body = problem(api.post("/api/v1/drills", headers=headers, json={
        "title": "x", "started_at": an_hour_ago(), "duration_minutes": 45, "form": "tabletop", "content": "single",
        "purpose": "inspection", "version_ids": [b_plan.versions[0].id]}), 422)
    assert list(field_errors(body)) == ["version_ids"]
    officer = api.get(f"/api/v1/drills?enterprise_id={people['other'].id}", headers=token_for("duty")).get_json()
    assert [d["id"] for d in officer] == [b_drill.id]

    spec = api.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/drills", "/api/v1/drills/{drill_id}", "/api/v1/drills/{drill_id}/evaluation",
                 "/api/v1/corrective-actions", "/api/v1/corrective-actions/{action_id}",
                 "/api/v1/drills/{drill_id}/spot-checks", "/api/v1/spot-checks/{check_id}/answer"):
        assert path in spec["paths"], path


def test_files_through_the_api_are_checked_by_content(app, people, token_for, new_plan, make_plan):
    import io

    plan = new_plan
    drill = drill_of(plan.versions[0])
    api, headers = app.test_client(), {**token_for("ent-a"), **EN}
    added = api.post(f"/api/v1/drills/{drill.id}/files", headers=headers, content_type="multipart/form-data",
                     data={"file": (io.BytesIO(PDF_BYTES), "演练脚本.pdf")})
    assert added.status_code == 201, added.get_json()
    assert (added.get_json()["kind"], added.get_json()["file_type"]) == ("document", "pdf")
    body = problem(api.post(f"/api/v1/drills/{drill.id}/files", headers=headers, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(PDF_BYTES), "现场.png")}), 422)
    assert list(field_errors(body)) == ["file"] and "does not match the extension .png" in body["errors"][0]["detail"]
    sheet = problem(api.post(f"/api/v1/drills/{drill.id}/files", headers=headers, content_type="multipart/form-data",
                             data={"file": (io.BytesIO(b"PK\x03\x04"), "名单.xlsx")}), 422)
    assert list(field_errors(sheet)) == ["file"]
    db.session.expire_all()
    assert [f.filename for f in db.session.get(Drill, drill.id).files] == ["演练脚本.pdf"]
    b_plan = make_plan(people["other"], by=people["officer"], title="乙酒店综合预案")
    b_drill = drill_of(b_plan.versions[0])
    assert problem(api.post(f"/api/v1/drills/{b_drill.id}/files", headers=headers, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(PDF_BYTES), "x.pdf")}), 404)


def test_pages_are_chinese_by_default(app, people, new_plan):
    plan = new_plan
    drill = drill_of(plan.versions[0])
    page = browser_for(app, "ent-a").get(f"/drills/{drill.id}").get_data(as_text=True)
    assert "演练记录" in page and "整改" in page


@pytest.mark.parametrize("username", ["ent-a", "duty"])
def test_record_form_opens(app, people, username):
    browser = browser_for(app, username)
    url = "/drills/new" if username == "ent-a" else f"/drills/new?enterprise_id={people['own'].id}"
    assert browser.get(url).status_code == 200
    if username == "duty":
        assert people["own"].name in browser.get("/drills/new").get_data(as_text=True)
    assert records  # the module under test is the one the pages use
