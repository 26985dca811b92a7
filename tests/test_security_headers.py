"""Security headers on every kind of response (pages, API, downloads, static files, errors,
webhooks, the feed, the API docs), HSTS only behind HTTPS; calendar-feed tokens never reach
the access log."""
from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from emergency.core.extensions import db
from plans.plan import operations as plan_ops

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
CSP_DIRECTIVES = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                  "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'"}


def assert_secured(response, what: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (what, name, response.headers.get(name))
    directives = {d.strip() for d in response.headers.get("Content-Security-Policy", "").split(";")}
    assert CSP_DIRECTIVES <= directives, (what, directives)
    assert not any("unsafe" in d for d in directives), (what, directives)


@pytest.fixture
def responses(app, client, people, login, token_for):
    """One response of every kind the app sends, by name."""
    app.config.update(TWILIO_AUTH_TOKEN="webhook-secret", PUBLIC_BASE_URL="https://yj.example.gov.cn")
    officer_api = token_for("duty")
    plan = plan_ops.create_plan(people["officer"], people["own"], {"kind": "comprehensive", "title": "甲化工综合应急预案"})
    db.session.commit()
    feed = client.post("/api/v1/calendar-feeds", headers=officer_api, json={"label": "值班室"}).get_json()
    feed_path = "/" + feed["url"].split("/", 3)[3]
    token = feed_path.rsplit("/", 1)[1]
    inbound = {"MessageSid": "SM" + "1" * 32, "From": "+8613800000009", "To": "+8610000000000", "Body": "收到"}
    signature = RequestValidator("webhook-secret").compute_signature(
        "https://yj.example.gov.cn/webhooks/twilio/inbound", inbound)

    found = {
        "login page": client.get("/login"),
        "redirect to login": client.get("/enterprises"),
        "API JSON": client.get("/api/v1/enterprises", headers=officer_api),
        "API problem 401": client.get("/api/v1/enterprises"),
        "API problem 404": client.get("/api/v1/no-such-thing"),
        "API problem 422": client.post("/api/v1/auth/token", json={}),
        "OpenAPI document": client.get("/api/v1/openapi.json"),
        "API docs page": client.get("/api/v1/docs"),
        "Swagger UI asset": client.get("/api/v1/docs/assets/swagger-ui-bundle.js"),
        "static file": client.get("/static/app.css"),
        "static script": client.get("/static/js/compose.js"),
        "feed (page URL)": client.get(feed_path),
        "feed (API URL)": client.get(f"/api/v1/calendar-feeds/{token}"),
        "webhook forged": client.post("/webhooks/twilio/inbound", data=inbound),
        "webhook signed": client.post("/webhooks/twilio/inbound", data=inbound,
                                      headers={"X-Twilio-Signature": signature}),
        "page 404": client.get("/no-such-page"),
        "page 405": client.delete("/login"),
    }
    login("duty")
    found |= {
        "page": client.get("/"),
        "plan section page": client.get(f"/plans/{plan.id}/versions/1/sections/{plan.versions[0].sections[0].id}"),
        "spreadsheet download": client.get("/enterprises/export.xlsx"),
        "JSON for a page": client.post("/messaging/campaigns/preview", data={"body": "测试"}),
        "page 404 of a record": client.get("/plans/999999"),
    }
    return found


def test_every_kind_of_response_sends_the_security_headers(responses):
    statuses = {name: r.status_code for name, r in responses.items()}
    # The responses are what their names say (so the headers are checked on each kind).
    assert statuses["redirect to login"] == 302 and statuses["webhook forged"] == 403
    assert statuses["webhook signed"] == 200 and statuses["feed (page URL)"] == 200
    assert statuses["feed (API URL)"] == 200 and statuses["spreadsheet download"] == 200
    assert statuses["API problem 401"] == 401 and statuses["page 405"] == 405
    assert statuses["API docs page"] == statuses["Swagger UI asset"] == statuses["static script"] == 200
    for name, response in responses.items():
        assert_secured(response, name)
        assert "Strict-Transport-Security" not in response.headers, name  # plain HTTP: no HSTS


def test_hsts_when_the_session_cookie_is_secure(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    for response in (client.get("/login"), client.get("/static/app.css"), client.get("/api/v1/enterprises")):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert_secured(response, response.request.path)


def test_pages_and_the_docs_page_have_no_inline_script_or_style(responses):
    """What the policy would block, checked in the HTML too (the browser test sees it live)."""
    import re

    for name in ("login page", "page", "plan section page", "API docs page"):
        html = responses[name].get_data(as_text=True)
        scripts = re.findall(r"<script\b([^>]*)>", html)
        assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts), (name, scripts)
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=|javascript:", html), name
