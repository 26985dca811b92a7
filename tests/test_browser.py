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
