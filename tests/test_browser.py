"""A duty officer in a real browser: log in, filter the enterprise list, open an enterprise."""
from pathlib import Path

import pytest

from .browser import browser_page
from .conftest import PASSWORD

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def test_officer_logs_in_filters_and_opens_an_enterprise(app, people, make_enterprise, county):
    # CSRF stays on: the browser submits real forms with their tokens.
    app.config["WTF_CSRF_ENABLED"] = True
    south = county.townships[2]
    make_enterprise(name="南山石料矿业有限公司", industry="non_coal_mine", scale="medium", township=south)
    make_enterprise(name="南山茶叶合作社", industry="other", scale="micro", township=south)

    with browser_page(app) as (page, base_url):
        page.goto(f"{base_url}/login")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        page.fill("#f-username", "duty")
        page.fill("#f-password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base_url}/")

        page.goto(f"{base_url}/enterprises")
        rows = page.locator("#enterprise-table tbody tr")
        assert rows.count() == 4  # two from `people`, two made here

        page.select_option("select[name=township_id]", str(south.id))
        page.select_option("select[name=high_risk]", "true")
        page.click("#enterprise-filters button[type=submit]")
        page.wait_for_load_state()
        assert rows.count() == 1
        assert "南山石料矿业有限公司" in rows.first.inner_text()

        rows.first.locator("a").first.click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text().startswith("南山石料矿业有限公司")
        obligations = page.locator("#obligations li")
        codes = {obligations.nth(i).get_attribute("data-code") for i in range(obligations.count())}
        assert {"file_plans", "expert_review", "drill_half_yearly_report"} <= codes
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "enterprise-detail.png"), full_page=True)


def test_officer_composes_a_warning_and_sees_parts_recipients_and_delivery(app, people):
    """The composer's live counter (in the page's script) and preview (from the server) agree
    with the rules: 71 Chinese characters are 2 UCS-2 parts; duplicates, opt-outs and invalid
    numbers are taken out before the count; the campaign page then counts what was sent."""
    import re

    from playwright.sync_api import expect

    from emergency.core.extensions import db
    from emergency.messaging import contacts as contact_ops
    from emergency.messaging import groups as group_ops
    from emergency.messaging.models import OrgKind

    app.config["WTF_CSRF_ENABLED"] = True
    officer = people["officer"]
    members = [contact_ops.create_contact(officer, {"name": name, "mobile": mobile, "org_kind": OrgKind.bureau,
                                                    "roles": ["bureau_staff"]})
               for name, mobile in (("值班甲", "+8613700000001"), ("值班乙", "+8613700000002"),
                                    ("值班丙", "+8613700000003"))]
    contact_ops.opt_out(officer, "+8613700000003", "officer")
    group = group_ops.create_group(officer, {"name": "局值班人员", "kind": "static",
                                             "member_ids": [c.id for c in members]})
    db.session.commit()
    body = "【测试县应急管理局】" + "暴雨橙色预警请立即检查排洪设施" * 4 + "！"  # 71 characters
    assert len(body) == 71

    with browser_page(app) as (page, base_url):
        page.goto(f"{base_url}/login")
        page.fill("#f-username", "duty")
        page.fill("#f-password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base_url}/")

        page.goto(f"{base_url}/messaging/campaigns/new")
        page.fill("#f-title", "暴雨橙色预警")
        page.fill("#f-body", body)
        parts = page.locator("#parts")
        assert re.fullmatch(r"71 个字 · UCS-2 · 每人 2 条短信", parts.inner_text()), parts.inner_text()
        page.fill("#f-body", body[:70])
        assert parts.inner_text() == "70 个字 · UCS-2 · 每人 1 条短信"
        page.fill("#f-body", body)

        # One group (one of its three opted out), the second member typed again, one bad number.
        page.check(f"input[name=group_ids][value='{group.id}']")
        page.fill("#f-phones", "137 0000 0002\n12345\n13700000004")
        preview = page.locator("#preview")
        # Playwright's expect() polls without eval (wait_for_function evaluates a string, which
        # the page's Content-Security-Policy forbids).
        expect(preview).to_have_text(re.compile("^3 名接收人"))
        assert preview.inner_text() == "3 名接收人（已跳过 1 名退订、1 个无效号码）× 2 条 = 共 6 条短信"

        page.click("#compose button[type=submit]")
        page.wait_for_url(re.compile(r".*/messaging/campaigns/\d+$"))
        assert "暴雨橙色预警" in page.locator("h1").inner_text()
        # The console provider is configured: the page says nothing reached a phone.
        assert page.locator(".flash.warning").count() == 1
        expect(page.locator("[data-count=sent]")).to_have_text("3")
        assert page.locator("[data-count=opted_out]").inner_text() == "1"
        assert page.locator("[data-count=invalid]").inner_text() == "1"
        # Who did not get it, and why, in the officer's words.
        problems = page.locator("section.card table tbody tr")
        assert [problems.nth(i).locator("td").nth(3).inner_text() for i in range(problems.count())] == [
            "已退订", "号码无效"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "campaign.png"), full_page=True)
