"""Hostile input never causes a 5xx: huge ids in paths, queries and bodies, lone surrogates and
control characters in text, references to rows that do not exist, LIKE wildcards in searches,
folder names in uploaded file names. Invalid bodies are 422 problems naming the field."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db

HUGE = "99999999999999999999"  # > 2^64
JUST_OVER = str(2**31)  # the first id that does not fit the INTEGER keys (PostgreSQL: 32 bits)
QUERY_ARGS = ("page", "page_size", "township_id", "enterprise_id", "cycle_id", "drill_id", "plan_id", "version_id",
              "year", "month", "quarter", "hpage", "waiting_page", "overdue_page", "evaluations_page", "a", "b",
              "object_id", "user_id", "d")


@pytest.fixture
def officer_api(people, token_for):
    return token_for("duty")


def _routes(app, api: bool):
    """Every GET route with an <int:…> converter or none (API or pages), with huge ids filled in."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        if rule.rule.startswith("/api/") != api or "/docs" in rule.rule or rule.rule.startswith("/static"):
            continue
        converters = {name: type(conv).__name__ for name, conv in rule._converters.items()}
        if any(kind != "BoundedIntConverter" for kind in converters.values()):
            continue  # string parameters (tokens, actions) are covered by their own tests
        yield rule.rule, converters


def _fill(rule: str, value: str) -> str:
    return re.sub(r"<int:[a-z_]+>", value, rule)


def _assert_no_server_error(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"


@pytest.mark.parametrize("value", [HUGE, JUST_OVER])
def test_huge_ids_in_api_paths_are_404_problems(app, client, officer_api, value):
    tried = 0
    for rule, converters in _routes(app, api=True):
        if not converters:
            continue
        url = _fill(rule, value)
        response = client.get(url, headers=officer_api)
        _assert_no_server_error(response, url)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json"
        tried += 1
        for method in ("post", "patch", "delete"):
            _assert_no_server_error(getattr(client, method)(url, headers=officer_api, json={}), f"{method} {url}")
    assert tried >= 20


def test_huge_numbers_in_api_queries_are_refused_not_500(app, client, officer_api):
    tried = 0
    for rule, converters in _routes(app, api=True):
        if converters:
            continue
        for name in QUERY_ARGS:
            for value in (HUGE, JUST_OVER, "-" + HUGE):
                response = client.get(f"{rule}?{name}={value}", headers=officer_api)
                _assert_no_server_error(response, f"{rule}?{name}={value}")
                tried += 1
    assert tried > 100
    page = client.get(f"/api/v1/plans?page={HUGE}", headers=officer_api)
    assert page.status_code == 422 and [e["field"] for e in page.get_json()["errors"]] == ["page"]


@pytest.mark.parametrize("value", [HUGE, JUST_OVER])
def test_huge_ids_and_page_numbers_on_pages_are_not_500(app, client, people, login, value):
    login("duty")
    tried = 0
    for rule, converters in _routes(app, api=False):
        url = _fill(rule, value)
        response = client.get(url)
        _assert_no_server_error(response, url)
        if converters:
            assert response.status_code == 404, url
        else:
            query = "&".join(f"{name}={value}" for name in QUERY_ARGS)
            _assert_no_server_error(client.get(f"{url}?{query}"), f"{url}?{query}")
        tried += 1
    assert tried > 30


def _contact(**fields):
    return {"name": "张三", "mobile": "13800138001", "org_kind": "enterprise", **fields}


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return sorted({e["field"] for e in response.get_json()["errors"]})


@pytest.mark.parametrize(("body", "field"), [
    (_contact(enterprise_id=10**20), "enterprise_id"),
    (_contact(enterprise_id=2**31), "enterprise_id"),
    (_contact(enterprise_id=987654), "enterprise_id"),  # in range, but no such enterprise
    (_contact(enterprise_id=0), "enterprise_id"),
    (_contact(backup_contact_id=987654), "backup_contact_id"),
    (_contact(township_id=-1), "township_id"),
    (_contact(name="ctl\u0001name"), "name"),
    (_contact(name="\ud800"), "name"),
    (_contact(note="a\x7fb"), "note"),
    (_contact(roles=["\udfff"]), "roles.0"),
    ({**_contact(), "\ud800": 1}, "\ud800"),
])
def test_officer_contact_with_bad_references_or_text_names_the_field(client, people, officer_api, body, field):
    from emergency.messaging.models import Contact

    if "enterprise_id" not in body:
        body["enterprise_id"] = people["own"].id
    response = client.post("/api/v1/contacts", headers=officer_api, json=body)
    assert _fields(response) == [field]
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_surrogates_and_control_characters_anywhere_in_json_are_field_errors(client, people, token_for):
    ent = token_for("ent-a")
    plan = client.post("/api/v1/plans", headers=ent, json={"kind": "comprehensive", "title": "综合应急预案"})
    assert plan.status_code == 201
    # Free-form members (the recurrence rule, a dict) and text in lists are checked too.
    cycle = client.post("/api/v1/drill-cycles", headers=ent, json={
        "name": "月末演练", "preset": "custom", "rule": {"freq": "monthly", "day": 28, "x": "\ud800"},
        "start_time": "14:00", "starts_on": "2026-11-23"})
    assert _fields(cycle) == ["rule.x"]
    titled = client.post("/api/v1/plans", headers=ent, json={"kind": "comprehensive", "title": "预案\x1b[31m"})
    assert _fields(titled) == ["title"]
    # A raw body with an escaped lone surrogate (what an attacker sends) is the same field error.
    raw = client.post("/api/v1/plans", headers={**ent, "Content-Type": "application/json"},
                      data='{"kind": "comprehensive", "title": "\\ud83d"}')
    assert _fields(raw) == ["title"]
    # Tabs and line breaks are text, not control characters to refuse.
    fine = client.post("/api/v1/contacts", headers=ent, json=_contact(note="白班\t夜班\r\n轮换"))
    assert fine.status_code == 201, fine.get_json()


def test_contact_page_refuses_a_control_character_in_the_name(client, people, login):
    from emergency.messaging.models import Contact

    login("duty")
    response = client.post("/messaging/contacts/new", data={
        "name": "ctl\u0001name", "mobile": "13800138001", "org_kind": "enterprise", "enterprise_id": people["own"].id})
    assert response.status_code in (200, 422)
    assert "控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_signed_status_webhook_with_a_huge_delivery_id_is_not_500(app, client):
    from twilio.request_validator import RequestValidator

    app.config.update(TWILIO_AUTH_TOKEN="test-auth-token", PUBLIC_BASE_URL="https://sms.example.cn")
    for value in ("9" * 40, JUST_OVER, "-1", "x"):
        path = f"/webhooks/twilio/status?d={value}"
        form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}
        signature = RequestValidator("test-auth-token").compute_signature("https://sms.example.cn" + path, form)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 204, (value, response.status_code)


def test_search_wildcards_are_matched_literally(client, people, token_for):
    ent = token_for("ent-a")
    officer = token_for("duty")
    for name in ("月末演练", "100%覆盖演练", "a_b演练"):
        created = client.post("/api/v1/drill-cycles", headers=ent, json={
            "name": name, "preset": "custom", "rule": {"freq": "monthly", "day": 28}, "start_time": "14:00",
            "starts_on": "2026-11-23"})
        assert created.status_code == 201, created.get_json()

    def names(path: str, q: str) -> list[str]:
        response = client.get(path, headers=officer, query_string={"q": q})
        assert response.status_code == 200
        return sorted(item.get("name") or item.get("title") for item in response.get_json())

    assert names("/api/v1/drill-cycles", "%") == ["100%覆盖演练"]
    assert names("/api/v1/drill-cycles", "_") == ["a_b演练"]
    assert names("/api/v1/drill-cycles", "\\") == []
    assert len(names("/api/v1/drill-cycles", "演练")) == 3
    assert names("/api/v1/plans", "%") == []
    assert names("/api/v1/contacts", "%") == []
    enterprises = client.get("/api/v1/enterprises", headers=officer, query_string={"q": "_"})
    assert enterprises.get_json() == []


def test_plan_attachment_names_lose_their_folders(client, people, token_for):
    import io

    from plans.plan.models import Attachment

    ent = token_for("ent-a")
    plan = client.post("/api/v1/plans", headers=ent, json={"kind": "comprehensive", "title": "综合应急预案"})
    url = f"/api/v1/plans/{plan.get_json()['id']}/versions/1/attachments"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    created = client.post(url, headers=ent, content_type="multipart/form-data",
                          data={"kind": "other", "file": (io.BytesIO(pdf), "../../etc/..\\evil\x01.pdf")})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["filename"] == "evil.pdf"
    assert db.session.scalar(sa.select(Attachment.filename)) == "evil.pdf"
    download = client.get(f"/api/v1/attachments/{created.get_json()['id']}", headers=ent)
    assert download.status_code == 200
    assert ".." not in download.headers["Content-Disposition"] and "evil.pdf" in download.headers["Content-Disposition"]


def test_openapi_coordinates_are_numbers_and_errors_are_problem_details(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("EnterpriseInput", "Enterprise"):
        latitude = schemas[name]["properties"]["latitude"]
        assert latitude["type"] == "number"
        if name == "EnterpriseInput":
            assert latitude["maximum"] == 90 and latitude["minimum"] == -90
    assert "application/problem+json" in spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert "application/problem+json" in spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "patch", "put", "delete"):
                assert "default" in operation["responses"], (method, path)
    page = next(p for p in spec["paths"]["/api/v1/plans"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["maximum"] == 2**31 - 1
    plan_id = next(p for p in spec["paths"]["/api/v1/plans/{plan_id}"]["parameters"] if p["name"] == "plan_id")
    assert plan_id["schema"]["maximum"] == 2**31 - 1 and plan_id["schema"]["minimum"] == 1
