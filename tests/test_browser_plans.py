"""The plan editor and filing in a real browser: an enterprise writes, reviews, publishes and
submits its plan; the bureau returns it naming two items; the enterprise sees exactly those."""
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db
from plans.plan.models import PlanVersion

from .browser import browser_page
from .conftest import PASSWORD, drill_of

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def log_in(page, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/(enterprises/\d+)?$"))


def test_enterprise_writes_publishes_and_files_then_the_bureau_returns_two_items(app, people):
    app.config["WTF_CSRF_ENABLED"] = True
    own = people["own"]  # 甲化工: hazardous chemicals, so expert review and filing are required

    with browser_page(app) as (page, base_url):
        log_in(page, base_url, "ent-a")

        # A new comprehensive plan starts from the standard's outline.
        page.goto(f"{base_url}/enterprises/{own.id}/plans/new")
        page.select_option("#f-kind", "comprehensive")
        page.fill("#f-title", "甲化工生产安全事故综合应急预案")
        page.click("#plan-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/plans/\d+/versions/1$"))
        version_url = page.url
        assert page.locator("#version-status").inner_text() == "草稿"

        # Formatted text in the section 应急处置.
        section = page.locator("article.plan-section", has=page.locator("h4", has_text=re.compile("^应急处置$")))
        section.get_by_role("link", name="编辑").click()
        page.wait_for_url(re.compile(r".*/sections/\d+$"))
        page.fill("#f-body", "<p><strong>立即关闭进料阀</strong>，启动喷淋系统。</p>"
                             "<ul><li>疏散下风向人员</li><li>报告总指挥</li></ul><script>alert(1)</script>")
        page.click("#section-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/plans/\d+/versions/1#section-\d+$"))
        text = section.locator(".richtext")
        assert text.locator("strong").inner_text() == "立即关闭进料阀"
        assert text.locator("li").all_inner_texts() == ["疏散下风向人员", "报告总指挥"]
        assert "alert" not in text.inner_html()

        # Article 21: no publication before a passing expert review; article 33: nor before a
        # drill has tested the new plan.
        assert page.locator("#publish .blockers li").count() == 2
        assert "第三十三条" in page.locator("#publish .blockers").inner_text()
        assert page.locator("#publish-form").count() == 0
        page.fill("#f-held_on", "2026-11-02")
        page.select_option("#f-conclusion", "pass")
        page.locator("input[name=expert_name]").first.fill("王专家")
        page.locator("input[name=expert_organisation]").first.fill("县应急专家库")
        page.locator("input[name=expert_speciality]").first.fill("化工安全")
        page.check("input[name=expert_no_conflict][value='0']")
        page.fill("#f-opinion", "同意发布")
        page.click("#review-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/versions/1#reviews$"))
        assert "王专家" in page.locator("#reviews").inner_text()
        drill_of(db.session.scalar(sa.select(PlanVersion).where(PlanVersion.number == 1)))  # the tabletop drill
        page.goto(version_url)

        page.fill("#f-principal_name", "甲总")
        page.click("#publish-form button[type=submit]")
        page.wait_for_url(version_url)
        assert page.locator("#version-status").inner_text() == "已发布"
        assert page.locator("#section-form, #publish").count() == 0

        # Publication opened the filing: submitting without the materials names what is missing.
        page.locator("main a[href^=\"/filings/\"]").click()
        page.wait_for_url(re.compile(r".*/filings/\d+$"))
        filing_url = page.url
        missing = page.locator("#materials li.missing")
        assert [m.get_attribute("data-material") for m in missing.all()] == ["risk_assessment", "resource_survey"]
        page.click("#submit-form button[type=submit]")
        page.wait_for_url(filing_url)
        error = page.locator(".flash.error").inner_text()
        assert "风险评估" in error and "资源调查" in error
        assert page.locator("#filing-status").inner_text() == "待报送"

        # The materials go onto the published version; then the submission goes through.
        for kind, name in (("risk_assessment", "风险评估结果.pdf"), ("resource_survey", "应急资源调查.pdf")):
            page.goto(version_url)
            page.select_option("#attach-form select[name=kind]", kind)
            page.set_input_files("#attach-form input[name=file]",
                                 files=[{"name": name, "mimeType": "application/pdf", "buffer": PDF_BYTES}])
            page.click("#attach-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/versions/1#attachments$"))
            assert name in page.locator("#attachments").inner_text()
        page.goto(filing_url)
        assert page.locator("#materials li.missing").count() == 0
        page.click("#submit-form button[type=submit]")
        page.wait_for_url(filing_url)
        assert page.locator("#filing-status").inner_text() == "待审查"

        # The bureau returns it, ticking two items at once.
        log_in(page, base_url, "duty")
        page.goto(filing_url)
        ticked = {}
        for code in ("resource_survey", "signature"):
            label = page.locator("#return-form label", has=page.locator(f"input[name=items][value={code}]"))
            label.locator("input").check()
            ticked[code] = label.inner_text().strip()
        page.fill("#f-note", "资源调查缺少物资清单；签署页无主要负责人签名。")
        page.click("#return-form button[type=submit]")
        page.wait_for_url(filing_url)
        assert page.locator("#filing-status").inner_text() == "已退回"

        # The enterprise sees exactly those two items, and the note.
        log_in(page, base_url, "ent-a")
        page.goto(filing_url)
        assert page.locator("#filing-status").inner_text() == "已退回"
        assert page.locator("#returned li").all_inner_texts() == [ticked["resource_survey"], ticked["signature"]]
        assert "资源调查缺少物资清单" in page.locator("#returned").inner_text()
        flagged = page.locator("#materials li", has=page.locator(".tag.risk"))
        assert [m.get_attribute("data-material") for m in flagged.all()] == ["resource_survey"]
        assert page.locator("#submit-form h2").inner_text() == "重新报送"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "filing-returned.png"), full_page=True)
