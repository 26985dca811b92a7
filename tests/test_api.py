"""The JSON API (/api/v1) as an integration uses it: bearer tokens, problem details, the register."""
from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise

from .conftest import PASSWORD, valid_credit_code

PROBLEM = "application/problem+json"
EN = {"Accept-Language": "en"}


# --- helpers -------------------------------------------------------------------------------

def enterprise_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Enterprise.id)))


def enterprise_audit(action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.object_type == "enterprise")
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalars(query.order_by(AuditEntry.id)).all()


def assert_problem(response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem of ``status``; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body


def errors_by_field(body: dict[str, Any]) -> dict[str, str]:
    """{field: detail} of a 422 problem, checking each entry's shape."""
    found = {}
    for error in body["errors"]:
        assert set(error) == {"field", "pointer", "detail"}
        assert error["pointer"] == "/" + error["field"].replace(".", "/")
        found[error["field"]] = error["detail"]
    return found


def new_enterprise(county, **changes: Any) -> dict[str, Any]:
    """A valid POST /api/v1/enterprises body."""
    body = {
        "name": "接口新建化工有限公司",
        "credit_code": valid_credit_code(),
        "industry": "hazardous_chemicals",
        "scale": "medium",
        "township_id": county.townships[0].id,
        "principal_name": "王五",
        "principal_mobile": "13800138001",
        "safety_manager_name": "赵六",
        "safety_manager_mobile": "+86 139 0013 9001",
    }
    body.update(changes)
    return body


class Tokens(dict):
    """Bearer headers (with Accept-Language: en) per role of ``people``, fetched when first used."""

    USERNAMES: ClassVar[dict[str, str]] = {"admin": "admin", "officer": "duty", "viewer": "viewer", "enterprise": "ent-a",
                 "other_enterprise": "ent-b"}

    def __init__(self, token_for):
        super().__init__()
        self.token_for = token_for

    def __missing__(self, role: str) -> dict[str, str]:
        self[role] = {**self.token_for(self.USERNAMES[role]), **EN}
        return self[role]


@pytest.fixture
def auth(people, token_for) -> Tokens:
    return Tokens(token_for)


# --- tokens --------------------------------------------------------------------------------

def test_token_for_good_credentials(client, people):
    response = client.post("/api/v1/auth/token", json={"username": "duty", "password": PASSWORD, "name": "sync"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "sync" and len(body["token"]) >= 32 and body["expires_at"]
    listed = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {body['token']}"})
    assert [t["name"] for t in listed.get_json()] == ["sync"]


@pytest.mark.parametrize("credentials", [
    {"username": "duty", "password": "wrong-password-1"},
    {"username": "nobody", "password": PASSWORD},
])
def test_token_for_bad_credentials(client, people, credentials):
    body = assert_problem(client.post("/api/v1/auth/token", json=credentials, headers=EN), 401)
    assert "token" not in body


def test_token_request_missing_fields(client, people):
    body = assert_problem(client.post("/api/v1/auth/token", json={"username": "duty"}, headers=EN), 422)
    assert errors_by_field(body) == {"password": "This field is required."}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-real-token", "Basic ZHV0eTpwdw=="])
def test_missing_or_garbage_token_is_401(client, people, header):
    headers = {**EN, **({"Authorization": header} if header else {})}
    response = client.get("/api/v1/enterprises", headers=headers)
    body = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in body["detail"].lower()


def test_revoked_token_is_401(client, auth):
    headers = auth["officer"]
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    response = client.get("/api/v1/enterprises", headers=headers)
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers
    # Other users' tokens keep working.
    assert client.get("/api/v1/enterprises", headers=auth["viewer"]).status_code == 200


# --- listing -------------------------------------------------------------------------------

@pytest.fixture
def register(people, make_enterprise, county):
    town_a, town_b, _town_c = county.townships
    made = [
        make_enterprise(name="A安达化工", industry="hazardous_chemicals", scale="large", township=town_a),
        make_enterprise(name="B博远酒店", industry="hotel", scale="small", township=town_b),
        make_enterprise(name="C晨光学校", industry="school", scale="medium", township=town_b),
        make_enterprise(name="D东方建筑", industry="construction", scale="small", township=town_a),
    ]
    return made


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [e["name"] for e in response.get_json()]


def test_list_enterprises_with_filters(client, auth, register, county):
    def get(**query: Any) -> list[str]:
        return names(client.get("/api/v1/enterprises", query_string=query, headers=auth["viewer"]))

    assert get(q="博远") == ["B博远酒店"]
    assert get(q=register[3].credit_code[-5:]) == ["D东方建筑"]
    assert get(industry="hotel", sort="name") == ["B博远酒店", "乙酒店有限公司"]
    assert get(high_risk="true", sort="name") == ["A安达化工", "D东方建筑", "甲化工有限公司"]
    assert get(scale="small", township_id=county.townships[0].id, sort="-name") == ["乙酒店有限公司", "D东方建筑"]
    assert get(township_id=county.townships[1].id, sort="name") == ["B博远酒店", "C晨光学校"]


def test_list_pagination_header(client, auth, register):
    response = client.get("/api/v1/enterprises", query_string={"page": 2, "page_size": 4, "sort": "name"},
                          headers=auth["officer"])
    assert response.status_code == 200
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 6 and pagination["total_pages"] == 2 and pagination["page"] == 2
    assert pagination["previous_page"] == 1
    assert len(response.get_json()) == 2
    first = names(client.get("/api/v1/enterprises", query_string={"page_size": 4, "sort": "name"},
                             headers=auth["officer"]))
    assert not set(first) & set(names(response))


@pytest.mark.parametrize(("query", "field"), [
    ({"industry": "spaceport"}, "industry"),
    ({"high_risk": "perhaps"}, "high_risk"),
    ({"township_id": "abc"}, "township_id"),
    ({"sort": "password_hash"}, "sort"),
])
def test_list_rejects_invalid_filters(client, auth, register, query, field):
    body = assert_problem(client.get("/api/v1/enterprises", query_string=query, headers=auth["officer"]), 422)
    assert list(errors_by_field(body)) == [field]


def test_enterprise_user_lists_only_its_own(client, auth, people, register):
    response = client.get("/api/v1/enterprises", headers=auth["enterprise"])
    assert names(response) == [people["own"].name]
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


# --- one enterprise ------------------------------------------------------------------------

def test_get_one_enterprise(client, auth, people):
    own = people["own"]
    response = client.get(f"/api/v1/enterprises/{own.id}", headers=auth["enterprise"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == own.id and body["credit_code"] == own.credit_code
    assert body["industry"] == "hazardous_chemicals" and body["industry_name"] == "Hazardous chemicals"
    assert body["high_risk"] is True and body["crowded_place"] is False
    assert body["township_name"] == own.township.name
    assert body["safety_manager_mobile"] == "+8613900139000"


def test_enterprise_user_gets_404_for_another_enterprise(client, auth, people):
    other = people["other"]
    assert_problem(client.get(f"/api/v1/enterprises/{other.id}", headers=auth["enterprise"]), 404)
    assert_problem(client.patch(f"/api/v1/enterprises/{other.id}", json={"address": "x"},
                                headers=auth["enterprise"]), 404)
    assert_problem(client.get("/api/v1/enterprises/999999", headers=auth["officer"]), 404)


@pytest.mark.parametrize(("industry", "scale", "expected"), [
    ("hazardous_chemicals", "medium", ["file_plans", "expert_review", "drill_yearly", "drill_onsite_half_yearly",
                                       "drill_half_yearly_report", "evaluate_three_yearly"]),
    ("hotel", "small", ["file_plans", "drill_yearly", "drill_onsite_half_yearly", "drill_half_yearly_report",
                        "evaluate_three_yearly"]),
    ("manufacturing", "large", ["expert_review", "drill_yearly", "drill_onsite_half_yearly"]),
    ("school", "small", ["drill_yearly", "drill_onsite_half_yearly"]),
])
def test_obligations_in_api_output(client, auth, make_enterprise, industry, scale, expected):
    enterprise = make_enterprise(industry=industry, scale=scale)
    obligations = client.get(f"/api/v1/enterprises/{enterprise.id}", headers=auth["viewer"]).get_json()["obligations"]
    assert [ob["code"] for ob in obligations] == expected
    articles = {"file_plans": "26", "expert_review": "21", "drill_yearly": "33", "drill_onsite_half_yearly": "33",
                "drill_half_yearly_report": "33", "evaluate_three_yearly": "35"}
    for ob in obligations:
        assert ob["title"]
        assert ob["reason"].startswith(f"Article {articles[ob['code']]}:"), ob


# --- creating ------------------------------------------------------------------------------

def test_officer_creates_enterprise(client, auth, county):
    body = new_enterprise(county, latitude="30.5", longitude="120.25")
    response = client.post("/api/v1/enterprises", json=body, headers=auth["officer"])
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["principal_mobile"] == "+8613800138001"
    assert created["safety_manager_mobile"] == "+8613900139001"
    assert created["latitude"] == 30.5 and created["longitude"] == 120.25  # JSON numbers, as documented
    assert created["address"] == "" and created["active"] is True
    assert "file_plans" in [ob["code"] for ob in created["obligations"]]
    enterprise = db.session.get(Enterprise, created["id"])
    assert enterprise.credit_code == body["credit_code"]
    [entry] = enterprise_audit("create")
    assert entry.object_id == created["id"] and entry.actor == "duty"
    assert client.get(f"/api/v1/enterprises/{created['id']}", headers=auth["viewer"]).get_json()["name"] == body["name"]


@pytest.mark.parametrize("role", ["viewer", "enterprise"])
def test_only_editors_create(client, auth, county, role):
    before = enterprise_count()
    assert_problem(client.post("/api/v1/enterprises", json=new_enterprise(county), headers=auth[role]), 403)
    assert enterprise_count() == before


def test_invalid_create_names_every_field_and_writes_nothing(client, auth, county):
    code = valid_credit_code()
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    body = new_enterprise(county, credit_code=wrong_check, industry="spaceport", scale="huge",
                          township_id=999999, principal_mobile="12345", latitude="30.1", colour="red")
    del body["safety_manager_name"]
    before = enterprise_count()
    response = client.post("/api/v1/enterprises", json=body, headers=auth["officer"])
    problem = assert_problem(response, 422)
    errors = errors_by_field(problem)
    assert errors == {
        "credit_code": f"The check character (the 18th) is wrong: by GB 32100-2015 it should be {code[17]}.",
        "industry": errors["industry"],
        "scale": "Must be one of: large, medium, small, micro.",
        "township_id": "No such township.",
        "principal_mobile": "Not a valid phone number.",
        "safety_manager_name": "This field is required.",
        "colour": "Unknown field.",
    }
    assert errors["industry"].startswith("Must be one of: hazardous_chemicals")
    for field in errors:
        assert field in problem["detail"]
    assert enterprise_count() == before
    assert enterprise_audit() == []


@pytest.mark.parametrize(("changes", "field", "detail"), [
    ({"credit_code": "91330999MA27XK12"}, "credit_code", "A unified social credit code has 18 characters."),
    ({"name": "   "}, "name", "This field is required."),
    ({"name": None}, "name", "This field is required."),
    ({"safety_manager_mobile": "057188888888"}, "safety_manager_mobile",
     "Must be a mobile number that can receive SMS."),
    ({"latitude": "30.1"}, "longitude", "Give both latitude and longitude, or neither."),
    ({"latitude": "91", "longitude": "120"}, "latitude", "Must be between -90 and 90."),
    ({"township_id": "first"}, "township_id", "Must be a whole number."),
])
def test_invalid_create_single_field(client, auth, county, changes, field, detail):
    before = enterprise_count()
    problem = assert_problem(
        client.post("/api/v1/enterprises", json=new_enterprise(county, **changes), headers=auth["officer"]), 422)
    assert errors_by_field(problem) == {field: detail}
    assert enterprise_count() == before


def test_duplicate_credit_code_is_422(client, auth, people, county):
    body = new_enterprise(county, credit_code=people["other"].credit_code.lower())
    problem = assert_problem(client.post("/api/v1/enterprises", json=body, headers=auth["officer"]), 422)
    assert errors_by_field(problem) == {"credit_code": "Another enterprise already has this credit code."}
    assert enterprise_count() == 2
    assert enterprise_audit() == []


@pytest.mark.parametrize("body", [[], "text", 42])
def test_body_that_is_not_an_object(client, auth, body):
    problem = assert_problem(client.post("/api/v1/enterprises", json=body, headers=auth["officer"]), 422)
    assert problem["errors"] == [{"field": "", "pointer": "", "detail": "Invalid input type."}]
    assert problem["detail"] == "Invalid input type."
    assert enterprise_count() == 2


def test_malformed_json_is_a_problem(client, auth):
    response = client.post("/api/v1/enterprises", data="{not json", content_type="application/json",
                           headers=auth["officer"])
    assert response.mimetype == PROBLEM
    assert response.status_code in (400, 422)


# --- changing ------------------------------------------------------------------------------

def test_officer_patches_enterprise(client, auth, people, county):
    own = people["own"]
    response = client.patch(f"/api/v1/enterprises/{own.id}", headers=auth["officer"],
                            json={"scale": "large", "township_id": county.townships[2].id, "address": "新址"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scale"] == "large" and response.get_json()["address"] == "新址"
    [entry] = enterprise_audit("update")
    assert entry.changes == {"scale": ["medium", "large"], "township_id": [county.townships[0].id,
                                                                           county.townships[2].id],
                             "address": ["", "新址"]}


def test_patch_one_coordinate_of_a_located_enterprise(client, auth, people):
    own = people["own"]
    url = f"/api/v1/enterprises/{own.id}"
    assert client.patch(url, json={"latitude": "30.1", "longitude": "120.2"}, headers=auth["officer"]).status_code == 200
    response = client.patch(url, json={"latitude": "30.2"}, headers=auth["officer"])
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["latitude"], response.get_json()["longitude"]) == (30.2, 120.2)
    # Clearing only one of the two would leave half a position.
    problem = assert_problem(client.patch(url, json={"longitude": None}, headers=auth["officer"]), 422)
    assert errors_by_field(problem) == {"longitude": "Give both latitude and longitude, or neither."}
    db.session.expire_all()
    assert str(own.longitude) == "120.200000"


def test_enterprise_user_patches_own_contacts(client, auth, people):
    own = people["own"]
    response = client.patch(f"/api/v1/enterprises/{own.id}", headers=auth["enterprise"],
                            json={"safety_manager_name": "孙九", "safety_manager_mobile": "13600136000"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["safety_manager_mobile"] == "+8613600136000"
    [entry] = enterprise_audit("update")
    assert entry.actor == "ent-a"
    assert entry.changes == {"safety_manager_name": ["李四", "孙九"],
                             "safety_manager_mobile": ["+8613900139000", "+8613600136000"]}


def test_enterprise_user_cannot_patch_locked_fields(client, auth, people):
    own = people["own"]
    problem = assert_problem(client.patch(
        f"/api/v1/enterprises/{own.id}", headers=auth["enterprise"],
        json={"name": "改名公司", "industry": "school", "address": "新址"}), 422)
    assert errors_by_field(problem) == {
        "industry": "Only the emergency-management bureau can change this.",
        "name": "Only the emergency-management bureau can change this.",
    }
    db.session.expire_all()
    assert (own.name, own.industry, own.address) == ("甲化工有限公司", "hazardous_chemicals", "")
    assert enterprise_audit() == []
    # Sending a locked field unchanged is harmless.
    assert client.patch(f"/api/v1/enterprises/{own.id}", headers=auth["enterprise"],
                        json={"name": own.name, "address": "新址"}).status_code == 200


def test_viewer_cannot_patch(client, auth, people):
    assert_problem(client.patch(f"/api/v1/enterprises/{people['own'].id}", json={"address": "x"},
                                headers=auth["viewer"]), 403)


def test_patch_validates_fields(client, auth, people):
    problem = assert_problem(client.patch(f"/api/v1/enterprises/{people['own'].id}", headers=auth["officer"],
                                          json={"principal_mobile": "110", "scale": "giant"}), 422)
    assert set(errors_by_field(problem)) == {"principal_mobile", "scale"}
    assert enterprise_audit() == []


# --- audit, townships, industries ----------------------------------------------------------

def test_audit_is_scoped_to_the_enterprise_user(client, auth, people):
    for enterprise in (people["own"], people["other"]):
        client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"address": f"地址{enterprise.id}"},
                     headers=auth["officer"])
    everything = client.get("/api/v1/audit", query_string={"object_type": "enterprise"}, headers=auth["viewer"])
    assert everything.status_code == 200
    assert {e["enterprise_id"] for e in everything.get_json()} == {people["own"].id, people["other"].id}
    assert "X-Pagination" in everything.headers

    own = client.get("/api/v1/audit", headers=auth["enterprise"]).get_json()
    assert own and {e["enterprise_id"] for e in own} == {people["own"].id}
    own = client.get("/api/v1/audit", query_string={"object_type": "enterprise"}, headers=auth["enterprise"]).get_json()
    assert own[0]["changes"] == {"address": ["", f"地址{people['own'].id}"]}
    asked_for_other = client.get("/api/v1/audit", query_string={"enterprise_id": people["other"].id},
                                 headers=auth["enterprise"])
    assert asked_for_other.get_json() == []


def test_audit_filters(client, auth, people):
    client.patch(f"/api/v1/enterprises/{people['own'].id}", json={"address": "x"}, headers=auth["officer"])
    entries = client.get("/api/v1/audit", query_string={"action": "update", "actor": "duty"},
                         headers=auth["viewer"]).get_json()
    assert [(e["action"], e["actor"], e["object_id"]) for e in entries] == [("update", "duty", people["own"].id)]
    problem = assert_problem(client.get("/api/v1/audit", query_string={"since": "yesterday"},
                                        headers=auth["viewer"]), 422)
    assert list(errors_by_field(problem)) == ["since"]


def test_townships_with_counts(client, auth, people, county):
    body = client.get("/api/v1/townships", headers=auth["enterprise"]).get_json()
    assert [t["name"] for t in body] == sorted(t.name for t in county.townships)
    counts = {t["name"]: t["enterprise_count"] for t in body}
    assert counts == {county.townships[0].name: 2, county.townships[1].name: 0, county.townships[2].name: 0}


def test_industries(client, auth):
    body = client.get("/api/v1/industries", headers=auth["viewer"]).get_json()
    by_code = {i["code"]: i for i in body}
    assert by_code["hotel"] == {"code": "hotel", "name": "Hotels", "name_zh": "宾馆饭店",
                                "high_risk": False, "crowded_place": True}
    assert by_code["coal_mine"]["high_risk"] is True
    assert len(body) == 19


# --- documents and health ------------------------------------------------------------------

def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    paths = spec["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/enterprises", "/api/v1/enterprises/{enterprise_id}",
                 "/api/v1/townships", "/api/v1/industries", "/api/v1/audit"):
        assert path in paths, sorted(paths)
    for path, method in (("/api/v1/enterprises", "get"), ("/api/v1/enterprises", "post"),
                         ("/api/v1/enterprises/{enterprise_id}", "patch"), ("/api/v1/audit", "get"),
                         ("/api/v1/auth/token", "delete")):
        assert paths[path][method]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/api/v1/auth/token"]["post"]
    assert "EnterpriseInput" in json.dumps(paths["/api/v1/enterprises"]["post"])


def test_swagger_ui_served_locally(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    # Swagger UI's files, and the static script that starts it (no inline script: see the CSP).
    assert assets and all(url.startswith(("/api/v1/docs/assets/", "/static/js/")) for url in assets), assets
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.data) > (1000 if "/assets/" in url else 0), url
    assert "/api/v1/openapi.json" in html


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_english_messages_on_request(client, people, county, token_for):
    headers = token_for("duty")
    body = new_enterprise(county, principal_mobile="12345")
    english = client.post("/api/v1/enterprises", json=body, headers={**headers, **EN}).get_json()
    assert english["title"] == "Invalid input"
    assert errors_by_field(english) == {"principal_mobile": "Not a valid phone number."}
    default = client.post("/api/v1/enterprises", json=body, headers=headers)
    assert default.status_code == 422 and list(errors_by_field(default.get_json())) == ["principal_mobile"]
