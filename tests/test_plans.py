"""Plans through the pages: the GB/T 29639 skeleton, safe section text, review before publication,
immutable published versions, revisions with their statutory trigger, the comparison that says
when to file again, evaluation, attachments checked by content, and the PDFs read back."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.core.timeutil import local_today
from emergency.workdays.calendar import add_working_days
from plans.filing.models import Filing, FilingStatus
from plans.plan import operations
from plans.plan.models import Plan, PlanSection, PlanVersion, VersionStatus

from plans.drills import gate

from .conftest import PASSWORD, drill_of, no_quiet_hours

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def browser_for(app, username: str):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    browser.post("/lang/en")
    return browser


@pytest.fixture
def ent_a(app, people):
    return browser_for(app, "ent-a")


def create_plan(browser, enterprise_id: int, **fields) -> Plan:
    data = {"kind": "comprehensive", "title": "甲化工生产安全事故综合应急预案", "subject": "", "parent_id": "",
            "accident_types": "火灾、泄漏、中毒窒息"} | fields
    response = browser.post(f"/enterprises/{enterprise_id}/plans/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    return db.session.scalars(sa.select(Plan).order_by(Plan.id.desc())).first()


def section(version: PlanVersion, title: str) -> PlanSection:
    return next(s for s in version.sections if s.title == title)


def write(browser, version: PlanVersion, title: str, body: str, **extra):
    s = section(version, title)
    response = browser.post(f"/plans/{version.plan_id}/versions/{version.number}/sections/{s.id}",
                            data={"title": s.title, "level": s.level, "key_part": s.key_part or "", "body": body} | extra)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()


def review(browser, version: PlanVersion, **fields):
    data = {"held_on": "2026-11-02", "conclusion": "pass", "opinion": "预案要素齐全，同意通过。",
            "expert_name": ["王专家", "李专家"], "expert_organisation": ["省安科院", "市消防救援支队"],
            "expert_speciality": ["化工安全", "消防"], "expert_no_conflict": ["0", "1"]} | fields
    return browser.post(f"/plans/{version.plan_id}/versions/{version.number}/review", data=data,
                        content_type="multipart/form-data")


def publish(browser, version: PlanVersion, **fields):
    if gate.needs_drill(version) and not gate.drilled(version):
        drill_of(version)
    data = {"principal_name": "张三", "signed_on": local_today().isoformat()} | fields
    return browser.post(f"/plans/{version.plan_id}/versions/{version.number}/publish", data=data)


def flashes(response_or_html) -> str:
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>\s*(.*?)\s*</div>', html, re.S))


def written_plan(ent_a, people) -> PlanVersion:
    plan = create_plan(ent_a, people["own"].id)
    version = plan.versions[0]
    write(ent_a, version, "应急组织机构及职责", "<p>公司成立应急指挥部，总指挥由总经理担任。</p>")
    write(ent_a, version, "应急处置", "<ol><li>切断泄漏源</li><li>疏散下风向人员</li></ol>")
    return version


# --- drafts -------------------------------------------------------------------------------------

def test_a_new_plan_starts_from_the_standard_outline_for_its_kind(ent_a, people):
    plan = create_plan(ent_a, people["own"].id)
    titles = [(s.level, s.title, s.key_part) for s in plan.versions[0].sections]
    assert titles[:5] == [(1, "总则", None), (2, "适用范围", None), (2, "响应分级", "levels"),
                          (1, "应急组织机构及职责", "command"), (1, "应急响应", "procedure")]
    assert (1, "附件", None) in titles and (2, "风险评估的结果", None) in titles
    onsite = create_plan(ent_a, people["own"].id, kind="onsite", title="罐区泄漏现场处置方案", subject="罐区")
    assert [s.title for s in onsite.versions[0].sections] == ["事故风险描述", "应急工作职责", "应急处置", "注意事项"]
    assert onsite.parent_id == plan.id  # hangs under the comprehensive plan
    tree = ent_a.get(f"/enterprises/{people['own'].id}/plans").get_data(as_text=True)
    assert tree.index("甲化工生产安全事故综合应急预案") < tree.index("罐区泄漏现场处置方案")
    # One comprehensive plan per enterprise.
    response = ent_a.post(f"/enterprises/{people['own'].id}/plans/new",
                          data={"kind": "comprehensive", "title": "第二个综合预案"})
    assert response.status_code == 422
    assert "already has a comprehensive plan" in response.get_data(as_text=True)


def test_section_text_keeps_the_safe_subset_only(ent_a, people):
    version = create_plan(ent_a, people["own"].id).versions[0]
    write(ent_a, version, "总则", '<h3>目的</h3><p onclick="x()">为规范<strong>应急</strong>工作</p><script>alert(1)</script>'
                                 '<table><tr><td>一级</td><td>全厂</td></tr></table><img src=x onerror=alert(1)>'
                                 '<a href="javascript:alert(1)">链接</a>')
    body = section(version, "总则").body
    assert "<script" not in body and "onclick" not in body and "<img" not in body and "javascript:" not in body
    assert "<strong>应急</strong>" in body and "<td>一级</td>" in body and "<h3>目的</h3>" in body
    page = ent_a.get(f"/plans/{version.plan_id}/versions/1").get_data(as_text=True)
    assert "alert(1)" not in page


def test_structured_fields_and_validation(ent_a, people):
    version = create_plan(ent_a, people["own"].id).versions[0]
    response = ent_a.post(f"/plans/{version.plan_id}/versions/1", data={
        "title": "", "subject": "", "accident_types": "火灾、爆炸",
        "level_name": ["一级", "二级", ""], "level_criteria": ["需要外部救援", "车间可控", ""]})
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)
    response = ent_a.post(f"/plans/{version.plan_id}/versions/1", data={
        "title": "甲化工综合应急预案", "subject": "", "accident_types": "火灾、爆炸",
        "level_name": ["一级", "二级", ""], "level_criteria": ["需要外部救援", "车间可控", ""]})
    assert response.status_code == 302
    db.session.expire_all()
    assert version.response_levels == [{"name": "一级", "criteria": "需要外部救援"}, {"name": "二级", "criteria": "车间可控"}]
    assert version.accident_types == ["火灾", "爆炸"] and version.plan.title == "甲化工综合应急预案"


# --- review and publication ---------------------------------------------------------------------

def test_publication_waits_for_a_passing_review_where_the_law_requires_one(app, ent_a, people):
    no_quiet_hours()  # what is sent, not when: quiet hours are tested with the messaging
    version = written_plan(ent_a, people)
    page = ent_a.get(f"/plans/{version.plan_id}/versions/1").get_data(as_text=True)
    assert "Article 21" in page and 'id="publish-form"' not in page
    response = publish(ent_a, version)
    assert "record a passing review first" in flashes(ent_a.get(response.headers["Location"]))
    db.session.expire_all()
    assert version.status == VersionStatus.draft

    # An expert who has not declared no conflict of interest is refused, and nothing is recorded.
    response = review(ent_a, version, expert_no_conflict=["0"])
    assert "李专家" in flashes(ent_a.get(response.headers["Location"]))
    assert version.reviews == []
    review(ent_a, version, conclusion="fail")
    db.session.expire_all()
    assert version.passing_review is None  # a failed review does not open publication
    minutes = ("minutes.pdf", PDF_BYTES)
    response = ent_a.post(f"/plans/{version.plan_id}/versions/1/review", data={
        "held_on": "2026-11-10", "conclusion": "pass_after_revision", "opinion": "修改后通过",
        "expert_name": ["王专家"], "expert_organisation": ["省安科院"], "expert_speciality": ["化工安全"],
        "expert_no_conflict": ["0"], "minutes": (io.BytesIO(minutes[1]), minutes[0])},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert version.passing_review.minutes.filename == "minutes.pdf"

    response = publish(ent_a, version, announce="1")
    assert "The enterprise has no contacts to tell." in flashes(ent_a.get(response.headers["Location"]))
    db.session.expire_all()
    assert version.status == VersionStatus.draft  # nothing half-done
    ent_a.post("/messaging/contacts/new", data={"name": "周班长", "mobile": "13700001111", "roles": ["staff"],
                                                "note": "", "active": "1"})
    response = publish(ent_a, version, announce="1")
    assert "Published" in flashes(ent_a.get(response.headers["Location"]))
    db.session.expire_all()
    assert version.status == VersionStatus.published and version.principal_name == "张三"
    assert version.content_hash == operations.fingerprint(version)
    # The enterprise files: the filing is open, due 20 working days after publication.
    filing = db.session.scalar(sa.select(Filing).where(Filing.version_id == version.id))
    assert filing.status == FilingStatus.due
    assert filing.submit_by == add_working_days(local_today(), 20)
    from emergency.messaging.models import Campaign, Delivery

    announcement = db.session.scalar(sa.select(Campaign).where(Campaign.source_key == f"plan-version-{version.id}-published"))
    assert announcement.priority == "normal" and "已于" in announcement.body
    assert db.session.scalars(sa.select(Delivery.phone).where(Delivery.campaign_id == announcement.id)).all() == [
        "+8613700001111"]
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "plan_version")).all()
    assert {"review", "publish", "attach"} <= set(actions)


def test_a_published_version_never_changes(app, ent_a, people):
    version = written_plan(ent_a, people)
    review(ent_a, version)
    publish(ent_a, version)
    db.session.expire_all()
    s = section(version, "总则")
    assert ent_a.post(f"/plans/{version.plan_id}/versions/1/sections/{s.id}",
                      data={"title": "改", "level": 1, "body": "<p>改</p>"}).status_code == 409
    response = ent_a.post(f"/plans/{version.plan_id}/versions/1", data={"title": "改名", "accident_types": ""})
    assert "cannot be changed" in response.get_data(as_text=True)
    # Not even through the ORM.
    s.body = "<p>悄悄改</p>"
    with pytest.raises(operations.ImmutableVersion):
        db.session.flush()
    db.session.rollback()
    version.principal_name = "别人"
    with pytest.raises(operations.ImmutableVersion):
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    assert section(version, "总则").body == "" and version.principal_name == "张三"


def test_a_revision_records_its_trigger_and_says_when_to_file_again(app, ent_a, people):
    version = written_plan(ent_a, people)
    review(ent_a, version)
    publish(ent_a, version)
    plan_id = version.plan_id
    # A trigger is required (and "other" needs a note).
    response = ent_a.post(f"/plans/{plan_id}/revise", data={"revision_trigger": "other", "revision_note": ""})
    assert "Say what requires the revision." in flashes(ent_a.get(response.headers["Location"]))
    response = ent_a.post(f"/plans/{plan_id}/revise", data={"revision_trigger": "command_changed",
                                                            "revision_note": "总经理变更"})
    assert response.headers["Location"].endswith(f"/plans/{plan_id}/versions/2")
    db.session.expire_all()
    v2 = db.session.scalar(sa.select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.number == 2))
    assert v2.revision_trigger == "command_changed" and v2.status == VersionStatus.draft
    assert [s.title for s in v2.sections] == [s.title for s in version.sections]

    # A change to a part that is not key: nothing to file again.
    write(ent_a, v2, "后期处置", "<p>恢复生产前组织安全检查。</p>")
    page = ent_a.get(f"/plans/{plan_id}/compare?a=1&b=2").get_data(as_text=True)
    assert "no new filing is needed" in page
    assert re.search(r'data-title="后期处置">\s*<h2>后期处置\s*<span class="tag">changed', page)
    # The command structure changes: the comparison says the plan must be filed again.
    write(ent_a, v2, "应急组织机构及职责", "<p>公司成立应急指挥部，总指挥由董事长担任。</p>")
    page = ent_a.get(f"/plans/{plan_id}/compare?a=1&b=2").get_data(as_text=True)
    assert "article 37" in page and "Command structure and duties" in page
    assert "董事长" in page and "总经理" in page  # the diff shows both sides

    review(ent_a, v2)
    publish(ent_a, v2)
    db.session.expire_all()
    assert v2.status == VersionStatus.published and version.status == VersionStatus.superseded
    assert v2.key_changes == ["command"]
    assert db.session.scalar(sa.select(Filing).where(Filing.version_id == v2.id)).status == FilingStatus.due


def test_a_revision_that_changes_nothing_key_is_not_filed_again(app, ent_a, people):
    version = written_plan(ent_a, people)
    review(ent_a, version)
    publish(ent_a, version)
    ent_a.post(f"/plans/{version.plan_id}/revise", data={"revision_trigger": "law_changed", "revision_note": ""})
    db.session.expire_all()
    v2 = version.plan.versions[-1]
    write(ent_a, v2, "后期处置", "<p>新增：事故调查配合。</p>")
    review(ent_a, v2)
    publish(ent_a, v2)
    db.session.expire_all()
    assert v2.status == VersionStatus.published and v2.key_changes == []
    # No filing of its own: the first version's filing, still open, is carried over to it.
    filings = db.session.scalars(sa.select(Filing)).all()
    assert len(filings) == 1 and filings[0].version_id == v2.id
    assert [e.action for e in filings[0].events] == ["opened", "carried_over"]


def test_evaluation_every_three_years(app, ent_a, people):
    version = written_plan(ent_a, people)
    review(ent_a, version)
    publish(ent_a, version, signed_on="2023-03-01")
    plan = version.plan
    page = ent_a.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert 'id="evaluation-due">2026-03-01' in page and "overdue" in page
    response = ent_a.post(f"/plans/{plan.id}/evaluations", data={"evaluated_on": "2026-11-20", "conclusion": "no_change",
                                                                  "note": "无需修订"})
    assert response.status_code == 302
    page = ent_a.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert 'id="evaluation-due">2029-11-20' in page
    bad = ent_a.post(f"/plans/{plan.id}/evaluations", data={"evaluated_on": "", "conclusion": "maybe"})
    assert "This field is required." in flashes(ent_a.get(bad.headers["Location"]))


# --- attachments ---------------------------------------------------------------------------------

def test_attachments_are_checked_by_content_and_served_only_to_those_who_may_see_them(app, ent_a, people):
    version = create_plan(ent_a, people["own"].id).versions[0]
    url = f"/plans/{version.plan_id}/versions/1/attachments"
    response = ent_a.post(url, data={"kind": "risk_assessment", "file": (io.BytesIO(PDF_BYTES), "风险评估.docx")},
                          content_type="multipart/form-data")
    assert response.status_code == 302, response.status_code
    message = flashes(ent_a.get(response.headers["Location"]))
    assert "风险评估.docx" in message and ".docx" in message
    response = ent_a.post(url, data={"kind": "risk_assessment", "file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
                          content_type="multipart/form-data")
    assert ".exe" in flashes(ent_a.get(response.headers["Location"]))
    db.session.expire_all()
    assert version.attachments == []
    ent_a.post(url, data={"kind": "risk_assessment", "file": (io.BytesIO(PDF_BYTES), "风险评估.pdf")},
               content_type="multipart/form-data")
    db.session.expire_all()
    attachment = version.attachments[0]
    assert (attachment.file_type, attachment.size) == ("pdf", len(PDF_BYTES))
    assert ent_a.get(f"/attachments/{attachment.id}").data == PDF_BYTES
    assert browser_for(app, "ent-b").get(f"/attachments/{attachment.id}").status_code == 404
    assert browser_for(app, "viewer").get(f"/attachments/{attachment.id}").status_code == 200


# --- PDFs ---------------------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_the_plan_pdf_carries_cover_sections_and_appendices(app, ent_a, people):
    version = written_plan(ent_a, people)
    review(ent_a, version)
    publish(ent_a, version)
    response = ent_a.get(f"/plans/{version.plan_id}/versions/1/plan.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in ("甲化工有限公司", "甲化工生产安全事故综合应急预案", "综合应急预案", "应急组织机构及职责",
                     "公司成立应急指挥部，总指挥由总经理担任。", "切断泄漏源", local_today().isoformat(), "张三"):
        assert expected in text, expected
    assert browser_for(app, "ent-b").get(f"/plans/{version.plan_id}/versions/1/plan.pdf").status_code == 404


def test_an_on_site_plan_has_a_one_page_emergency_card(app, ent_a, people):
    plan = create_plan(ent_a, people["own"].id, kind="onsite", title="罐区泄漏现场处置方案", subject="储罐区")
    version = plan.versions[0]
    write(ent_a, version, "应急处置", "<ol><li>关闭罐根阀</li><li>报告班长</li></ol>")
    write(ent_a, version, "注意事项", "<p>佩戴正压式空气呼吸器。</p>")
    ent_a.post("/lang/zh_CN")  # the card as a worker reads it
    response = ent_a.get(f"/plans/{plan.id}/versions/1/card.pdf")
    assert response.status_code == 200
    info = subprocess.run(["pdfinfo", "-"], input=response.data, capture_output=True, check=True).stdout.decode()
    assert re.search(r"^Pages:\s+1$", info, re.M) and "(A5)" in info, info
    text = pdf_text(response.data)
    assert "应急处置卡" in text and "储罐区" in text and "关闭罐根阀" in text and "佩戴正压式空气呼吸器" in text
    assert "+86 139" in text or "139 0013 9000" in text  # whom to report to
    comprehensive = create_plan(ent_a, people["own"].id)
    assert ent_a.get(f"/plans/{comprehensive.id}/versions/1/card.pdf").status_code == 404


def test_viewer_reads_but_changes_nothing(app, ent_a, people):
    version = create_plan(ent_a, people["own"].id).versions[0]
    viewer = browser_for(app, "viewer")
    assert viewer.get(f"/plans/{version.plan_id}/versions/1").status_code == 200
    s = section(version, "总则")
    assert viewer.post(f"/plans/{version.plan_id}/versions/1/sections/{s.id}",
                       data={"title": "x", "body": "<p>x</p>"}).status_code == 403
    db.session.expire_all()
    assert section(version, "总则").body == ""


def test_officer_lists_plans_across_the_county(app, ent_a, people):
    create_plan(ent_a, people["own"].id)
    officer = browser_for(app, "duty")
    page = officer.get("/plans?q=甲化工").get_data(as_text=True)
    assert "甲化工生产安全事故综合应急预案" in page
    assert "甲化工生产安全事故综合应急预案" not in officer.get("/plans?state=published").get_data(as_text=True)
    assert ent_a.get("/plans").headers["Location"].endswith(f"/enterprises/{people['own'].id}/plans")


def test_dates_in_the_future_are_refused(ent_a, people):
    version = written_plan(ent_a, people)
    review(ent_a, version)
    response = publish(ent_a, version, signed_on=date(2099, 1, 1).isoformat())
    assert "cannot be in the future" in flashes(ent_a.get(response.headers["Location"]))
