"""The Content-Security-Policy in a real browser: the key pages send it, break none of it (no
inline script or style is blocked) and still work, their scripts being static files."""
import re

import pytest

from emergency.core.extensions import db
from plans.plan import operations as plan_ops

from .browser import browser_page, csp_violations
from .conftest import PASSWORD

pytestmark = pytest.mark.browser


def visit(page, url: str) -> None:
    """Open ``url``; it must carry the policy and report no violation once loaded."""
    response = page.goto(url)
    assert response.ok, (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    assert csp_violations(page) == [], url


def test_key_pages_break_no_content_security_policy_and_their_scripts_run(app, people):
    app.config["WTF_CSRF_ENABLED"] = True
    plan = plan_ops.create_plan(people["officer"], people["own"], {"kind": "comprehensive", "title": "甲化工综合应急预案"})
    db.session.commit()
    section = plan.versions[0].sections[0]

    with browser_page(app) as (page, base_url):
        visit(page, f"{base_url}/login")
        page.fill("#f-username", "duty")
        page.fill("#f-password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base_url}/")
        assert csp_violations(page) == []
        # The township bars keep their widths without style= attributes: the largest is full.
        widths = page.eval_on_selector_all(
            "span.bar", "bars => bars.map(b => b.getBoundingClientRect().width / b.parentElement.clientWidth)")
        assert widths and max(widths) > 0.9

        visit(page, f"{base_url}/enterprises")
        visit(page, f"{base_url}/plans/{plan.id}/versions/1/sections/{section.id}")
        visit(page, f"{base_url}/dashboard/plans")
        visit(page, f"{base_url}/dashboard/drills")
        visit(page, f"{base_url}/drills/calendar")

        # The composer's counter is js/compose.js at work.
        visit(page, f"{base_url}/messaging/campaigns/new")
        page.fill("#f-body", "测试")
        assert page.locator("#parts").inner_text() == "2 个字 · UCS-2 · 每人 1 条短信"

        # A new feed's URL selects itself on a click (js/select-on-click.js, no onclick=).
        visit(page, f"{base_url}/drills/feeds")
        page.fill("#label", "值班室日历")
        page.click("#feed-form button[type=submit]")
        page.wait_for_load_state("load")
        page.click("#feed-url")
        selected = page.evaluate("(() => { const i = document.getElementById('feed-url');"
                                 " return i.value.substring(i.selectionStart, i.selectionEnd); })()")
        assert re.fullmatch(r"http://.*/feeds/drills/[\w-]+\.ics", selected), selected
        assert csp_violations(page) == []

        # Swagger UI starts from js/swagger-init.js and renders the document.
        visit(page, f"{base_url}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "Emergency plans and drills API" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector(".opblock")
        assert csp_violations(page) == []
