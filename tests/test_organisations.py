"""The enterprise register through its pages: create, edit, disable, obligations, list."""
from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise

from .conftest import valid_credit_code

ALL_OBLIGATIONS = {
    "file_plans", "expert_review", "drill_yearly", "drill_onsite_half_yearly",
    "drill_half_yearly_report", "evaluate_three_yearly",
}


# --- helpers -------------------------------------------------------------------------------

def enterprise_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Enterprise.id)))


def audit_entries(action: str | None = None, object_type: str = "enterprise") -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(AuditEntry.object_type == object_type)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return db.session.scalars(query.order_by(AuditEntry.id)).all()


def page_text(response) -> str:
    """The visible text of a page, tags stripped and whitespace collapsed."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def row_names(response) -> list[str]:
    """Enterprise names in the list table, in order."""
    html = response.get_data(as_text=True)
    table = html.split('id="enterprise-table"', 1)[1]
    return re.findall(r'href="/enterprises/\d+">([^<]+)</a>', table)


def field_error(response, field: str) -> str | None:
    """The error message shown beside form field ``field``, if any."""
    html = response.get_data(as_text=True)
    match = re.search(
        rf'<div class="field has-error">\s*<label for="f-{field}".*?<span class="error"[^>]*>([^<]+)</span>',
        html, re.DOTALL)
    return match.group(1).strip() if match else None


def obligation_codes(response) -> set[str]:
    return set(re.findall(r'<li data-code="([a-z_]+)"', response.get_data(as_text=True)))


def with_bad_check_character(code: str) -> str:
    """``code`` with a different (valid-alphabet) 18th character."""
    return code[:17] + ("0" if code[17] != "0" else "1")


@pytest.fixture
def form(county) -> dict[str, Any]:
    """A valid enterprise form, as a browser posts it."""
    return {
        "name": "新建化工有限公司",
        "credit_code": valid_credit_code(),
        "industry": "hazardous_chemicals",
        "scale": "medium",
        "township_id": str(county.townships[1].id),
        "address": "工业园区8号",
        "latitude": "",
        "longitude": "",
        "legal_representative": "王五",
        "principal_name": "王五",
        "principal_mobile": "138 0013 8001",
        "safety_manager_name": "赵六",
        "safety_manager_mobile": "13900139001",
    }


@pytest.fixture
def as_user(client, login, people):
    """Log in as one of ``people`` with the interface in English (the default is Chinese)."""

    def log_in(username: str):
        login(username)
        client.post("/lang/en")
        return client

    return log_in


@pytest.fixture
def officer(as_user):
    return as_user("duty")


# --- creating ------------------------------------------------------------------------------

def test_officer_creates_enterprise(officer, form):
    before = enterprise_count()
    response = officer.post("/enterprises/new", data=form)
    assert response.status_code == 302
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == form["credit_code"]))
    assert enterprise is not None
    assert response.headers["Location"].endswith(f"/enterprises/{enterprise.id}")
    assert enterprise_count() == before + 1
    assert enterprise.principal_mobile == "+8613800138001"
    assert enterprise.safety_manager_mobile == "+8613900139001"
    assert enterprise.latitude is None and enterprise.longitude is None
    [entry] = audit_entries("create")
    assert entry.object_id == enterprise.id and entry.enterprise_id == enterprise.id
    assert entry.actor == "duty"
    assert entry.changes["credit_code"] == form["credit_code"]
    assert entry.changes["principal_mobile"] == "+8613800138001"


def test_officer_creates_enterprise_with_coordinates(officer, form):
    form.update(latitude="30.123456", longitude="121.654321", address="")
    assert officer.post("/enterprises/new", data=form).status_code == 302
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == form["credit_code"]))
    assert str(enterprise.latitude) == "30.123456" and str(enterprise.longitude) == "121.654321"
    assert enterprise.address == ""


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"credit_code": "91330999MA27XK12"}, "credit_code", "18 characters"),
    ({"credit_code": "91330999MA27XK12IO"}, "credit_code", "except I, O, Z, S and V"),
    ({"principal_mobile": "12345"}, "principal_mobile", "phone number"),
    ({"safety_manager_mobile": "057188888888"}, "safety_manager_mobile", "mobile number"),
    ({"name": ""}, "name", "This field is required."),
    ({"principal_name": "  "}, "principal_name", "This field is required."),
    ({"industry": ""}, "industry", "This field is required."),
    ({"industry": "spaceport"}, "industry", "Must be one of"),
    ({"township_id": ""}, "township_id", "This field is required."),
    ({"township_id": "99999"}, "township_id", "No such township."),
    ({"latitude": "30.1"}, "longitude", "Give both latitude and longitude, or neither."),
    ({"longitude": "200"}, "longitude", "Must be between -180 and 180."),
])
def test_invalid_enterprise_form_writes_nothing(officer, form, changes, field, message):
    form.update(changes)
    before = enterprise_count()
    response = officer.post("/enterprises/new", data=form)
    assert response.status_code == 422
    assert message in (field_error(response, field) or "")
    assert "nothing has been saved" in page_text(response)
    assert enterprise_count() == before
    assert audit_entries() == []
    # What the user typed is shown again, so it can be corrected.
    assert form["safety_manager_name"] in response.get_data(as_text=True)


def test_credit_code_check_character_message_names_expected_character(officer, form):
    good = form["credit_code"]
    form["credit_code"] = with_bad_check_character(good)
    response = officer.post("/enterprises/new", data=form)
    assert response.status_code == 422
    assert field_error(response, "credit_code") == (
        f"The check character (the 18th) is wrong: by GB 32100-2015 it should be {good[17]}.")
    assert enterprise_count() == 2  # the two enterprises of ``people``


def test_credit_code_is_normalised_to_upper_case(officer, form):
    code = valid_credit_code(seed=31**8 * 20 + 12345)  # with letters in it
    assert code != code.lower()
    form["credit_code"] = f"  {code.lower()} "
    assert officer.post("/enterprises/new", data=form).status_code == 302
    assert db.session.scalar(sa.select(Enterprise.id).where(Enterprise.credit_code == code)) is not None


def test_duplicate_credit_code_rejected(officer, form, people):
    form["credit_code"] = people["own"].credit_code
    response = officer.post("/enterprises/new", data=form)
    assert response.status_code == 422
    assert field_error(response, "credit_code") == "Another enterprise already has this credit code."
    assert enterprise_count() == 2
    assert audit_entries() == []


def test_viewer_and_enterprise_user_cannot_create(as_user, client, form):
    as_user("viewer")
    assert client.post("/enterprises/new", data=form).status_code == 403
    client.post("/logout")
    as_user("ent-a")
    assert client.post("/enterprises/new", data=form).status_code == 403
    assert enterprise_count() == 2


def test_pages_need_login(client, people):
    response = client.get("/enterprises")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- editing, disabling --------------------------------------------------------------------

def edit_form(enterprise: Enterprise, **changes: Any) -> dict[str, Any]:
    """The edit form as the page shows it for ``enterprise``, with some fields changed."""
    values = {
        "name": enterprise.name, "credit_code": enterprise.credit_code, "industry": enterprise.industry,
        "scale": enterprise.scale, "township_id": str(enterprise.township_id), "address": enterprise.address,
        "latitude": "", "longitude": "", "legal_representative": enterprise.legal_representative,
        "principal_name": enterprise.principal_name, "principal_mobile": enterprise.principal_mobile,
        "safety_manager_name": enterprise.safety_manager_name,
        "safety_manager_mobile": enterprise.safety_manager_mobile,
    }
    values.update(changes)
    return values


def test_officer_edits_enterprise_and_audit_records_old_and_new(officer, people, county):
    own = people["own"]
    old_township = own.township_id
    new_township = county.townships[2].id
    response = officer.post(f"/enterprises/{own.id}/edit", data=edit_form(
        own, scale="large", township_id=str(new_township), safety_manager_mobile="13700137000"))
    assert response.status_code == 302
    [entry] = audit_entries("update")
    assert entry.object_id == own.id and entry.actor == "duty"
    assert entry.changes == {
        "scale": ["medium", "large"],
        "township_id": [old_township, new_township],
        "safety_manager_mobile": ["+8613900139000", "+8613700137000"],
    }
    detail = officer.get(f"/enterprises/{own.id}")
    assert "+8613700137000" in detail.get_data(as_text=True)


def test_saving_unchanged_form_writes_no_audit_entry(officer, people):
    own = people["own"]
    response = officer.post(f"/enterprises/{own.id}/edit", data=edit_form(own), follow_redirects=True)
    assert response.status_code == 200
    assert "Nothing was changed." in page_text(response)
    assert audit_entries("update") == []


def test_clearing_optional_fields_on_edit(officer, people):
    own = people["own"]
    own.address, own.legal_representative = "旧地址", "钱七"
    db.session.commit()
    response = officer.post(f"/enterprises/{own.id}/edit", data=edit_form(own, address="", legal_representative=""))
    assert response.status_code == 302, page_text(response)[:800]
    [entry] = audit_entries("update")
    assert entry.changes == {"address": ["旧地址", ""], "legal_representative": ["钱七", ""]}


def test_edit_to_duplicate_credit_code_rejected(officer, people):
    own, other = people["own"], people["other"]
    response = officer.post(f"/enterprises/{own.id}/edit", data=edit_form(own, credit_code=other.credit_code))
    assert response.status_code == 422
    assert "Another enterprise already has this credit code." in page_text(response)
    db.session.expire_all()
    assert own.credit_code != other.credit_code
    assert audit_entries("update") == []


def test_disable_and_enable(officer, people):
    own = people["own"]
    assert officer.post(f"/enterprises/{own.id}/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert own.active is False
    assert own.name not in row_names(officer.get("/enterprises"))
    assert own.name in row_names(officer.get("/enterprises?include_disabled=true"))
    assert "Disabled" in page_text(officer.get(f"/enterprises/{own.id}"))

    assert officer.post(f"/enterprises/{own.id}/active", data={"active": "1"}).status_code == 302
    db.session.expire_all()
    assert own.active is True
    assert own.name in row_names(officer.get("/enterprises"))
    entries = audit_entries()
    assert [(e.action, e.changes) for e in entries] == [
        ("disable", {"active": [True, False]}), ("enable", {"active": [False, True]})]


def test_viewer_cannot_disable(as_user, people):
    viewer = as_user("viewer")
    assert viewer.post(f"/enterprises/{people['own'].id}/active", data={"active": "0"}).status_code == 403
    assert audit_entries() == []


def test_enterprise_user_edits_own_contacts_but_not_locked_fields(as_user, people):
    client = as_user("ent-a")
    own = people["own"]
    page = client.get(f"/enterprises/{own.id}/edit")
    assert page.status_code == 200
    assert re.search(r'name="name"[^>]*disabled', page.get_data(as_text=True))
    response = client.post(f"/enterprises/{own.id}/edit", data=edit_form(
        own, name="改名公司", industry="school", scale="micro", safety_manager_mobile="13600136000"))
    assert response.status_code == 302
    db.session.expire_all()
    assert own.name == "甲化工有限公司" and own.industry == "hazardous_chemicals" and own.scale == "medium"
    assert own.safety_manager_mobile == "+8613600136000"
    [entry] = audit_entries("update")
    assert entry.changes == {"safety_manager_mobile": ["+8613900139000", "+8613600136000"]}
    assert entry.actor == "ent-a"


def test_enterprise_user_cannot_see_or_edit_another_enterprise(as_user, people):
    client = as_user("ent-a")
    other = people["other"]
    assert client.get(f"/enterprises/{other.id}").status_code == 404
    assert client.post(f"/enterprises/{other.id}/edit", data=edit_form(other)).status_code == 404
    # The list sends an enterprise user to its own record.
    response = client.get("/enterprises")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/enterprises/{people['own'].id}")


# --- obligations ---------------------------------------------------------------------------

@pytest.mark.parametrize(("industry", "scale", "expected"), [
    ("hazardous_chemicals", "medium", ALL_OBLIGATIONS),
    ("hotel", "small", ALL_OBLIGATIONS - {"expert_review"}),
    ("hotel", "large", ALL_OBLIGATIONS),
    ("manufacturing", "large", {"expert_review", "drill_yearly", "drill_onsite_half_yearly"}),
    ("school", "small", {"drill_yearly", "drill_onsite_half_yearly"}),
])
def test_obligations_on_detail_page(officer, make_enterprise, industry, scale, expected):
    enterprise = make_enterprise(industry=industry, scale=scale)
    response = officer.get(f"/enterprises/{enterprise.id}")
    assert response.status_code == 200
    assert obligation_codes(response) == expected


def test_obligation_reasons_cite_articles(officer, make_enterprise):
    enterprise = make_enterprise(industry="hazardous_chemicals", scale="medium")
    html = officer.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    reasons = dict(re.findall(r'<li data-code="([a-z_]+)">.*?<span class="why">([^<]+)</span>', html, re.DOTALL))
    assert reasons["file_plans"].startswith("Article 26")
    assert reasons["expert_review"].startswith("Article 21")
    assert reasons["drill_half_yearly_report"].startswith("Article 33")
    assert reasons["evaluate_three_yearly"].startswith("Article 35")
    assert "20 working days" in html


def test_obligations_follow_industry_change(officer, make_enterprise):
    enterprise = make_enterprise(industry="school", scale="small")
    response = officer.post(f"/enterprises/{enterprise.id}/edit", data=edit_form(enterprise, industry="mall"))
    assert response.status_code == 302
    assert "file_plans" in obligation_codes(officer.get(f"/enterprises/{enterprise.id}"))


# --- the list ------------------------------------------------------------------------------

@pytest.fixture
def register(make_enterprise, county) -> dict[str, Enterprise]:
    """Five enterprises spread over townships, industries and scales."""
    town_a, town_b, town_c = county.townships  # ordered by name: 东城街道, 南山镇, 城关镇
    return {
        "alpha": make_enterprise(name="A安达化工", industry="hazardous_chemicals", scale="large", township=town_a),
        "bravo": make_enterprise(name="B博远酒店", industry="hotel", scale="small", township=town_b),
        "charlie": make_enterprise(name="C晨光学校", industry="school", scale="medium", township=town_c),
        "delta": make_enterprise(name="D东方建筑", industry="construction", scale="small", township=town_b),
        "echo": make_enterprise(name="E恩泽制造", industry="manufacturing", scale="micro", township=town_a),
    }


def test_list_search_by_name_and_credit_code(officer, register):
    assert row_names(officer.get("/enterprises", query_string={"q": "博远"})) == ["B博远酒店"]
    code = register["delta"].credit_code
    assert row_names(officer.get("/enterprises", query_string={"q": code[-6:].lower()})) == ["D东方建筑"]
    assert row_names(officer.get("/enterprises", query_string={"q": "不存在"})) == []


def test_list_search_treats_wildcards_literally(officer, register, make_enterprise):
    make_enterprise(name="百分之百_公司")
    assert row_names(officer.get("/enterprises", query_string={"q": "%"})) == []
    assert row_names(officer.get("/enterprises", query_string={"q": "_"})) == ["百分之百_公司"]


@pytest.mark.parametrize(("query", "expected"), [
    ({"industry": "hotel"}, ["B博远酒店"]),
    ({"high_risk": "true"}, ["A安达化工", "D东方建筑"]),
    ({"high_risk": "false"}, ["B博远酒店", "C晨光学校", "E恩泽制造"]),
    ({"scale": "small"}, ["B博远酒店", "D东方建筑"]),
    ({"scale": "small", "high_risk": "true"}, ["D东方建筑"]),
])
def test_list_filters(officer, register, query, expected):
    names = row_names(officer.get("/enterprises", query_string={"q": "", **query}))
    assert [n for n in names if n[0] in "ABCDE"] == expected


def test_list_filter_by_township(officer, register, county):
    names = row_names(officer.get("/enterprises", query_string={"township_id": county.townships[1].id}))
    assert names == ["B博远酒店", "D东方建筑"]


def test_list_sorting(officer, register, people):
    def letters(response) -> list[str]:
        return [name[0] for name in row_names(response) if name[0] in "ABCDE"]

    assert letters(officer.get("/enterprises?sort=name")) == list("ABCDE")
    assert letters(officer.get("/enterprises?sort=-name")) == list("EDCBA")
    # By township name, then id: 东城街道 (A, E), 南山镇 (B, D), 城关镇 (C).
    assert letters(officer.get("/enterprises?sort=township")) == list("AEBDC")


def test_list_pagination(officer, register, people):
    first = row_names(officer.get("/enterprises?sort=name&per_page=3"))
    second = row_names(officer.get("/enterprises?sort=name&per_page=3&page=2"))
    assert len(first) == 3 and len(second) == 3  # seven enterprises in all
    assert not set(first) & set(second)
    assert "Page 2 of 3" in page_text(officer.get("/enterprises?sort=name&per_page=3&page=2"))


@pytest.mark.parametrize("query", ["page=9", "page=0", "per_page=0", "page=abc"])
def test_list_page_out_of_range_is_not_an_error(officer, register, query):
    response = officer.get(f"/enterprises?{query}")
    assert response.status_code == 200
    assert len(row_names(response)) in (0, 7)


@pytest.mark.parametrize(("query", "field"), [
    ({"township_id": "abc"}, "township_id"),
    ({"industry": "spaceport"}, "industry"),
    ({"high_risk": "perhaps"}, "high_risk"),
    ({"scale": "huge"}, "scale"),
    ({"sort": "password"}, "sort"),
])
def test_list_reports_invalid_filters(officer, register, query, field):
    response = officer.get("/enterprises", query_string=query)
    assert response.status_code == 200
    assert re.search(rf'class="flash error">{field}: ', response.get_data(as_text=True))
    assert len(row_names(response)) == 7  # the bad filter is dropped, not applied


# --- audit page ----------------------------------------------------------------------------

def test_audit_page_shows_changes_and_is_scoped(as_user, client, people):
    officer = as_user("duty")
    own, other = people["own"], people["other"]
    officer.post(f"/enterprises/{own.id}/edit", data=edit_form(own, address="新地址一号"))
    officer.post(f"/enterprises/{other.id}/edit", data=edit_form(other, address="新地址二号"))
    text = page_text(officer.get("/audit?object_type=enterprise&action=update"))
    assert "新地址一号" in text and "新地址二号" in text
    client.post("/logout")
    as_user("ent-a")
    text = page_text(client.get("/audit"))
    assert "新地址一号" in text and "新地址二号" not in text
    assert page_text(client.get(f"/audit?enterprise_id={other.id}")).count("新地址二号") == 0


# --- townships -----------------------------------------------------------------------------

def test_townships_add_rename_and_refuse_duplicates(officer, people, county):
    response = officer.post("/townships", data={"name": "北岭镇", "code": "330999101"})
    assert response.status_code == 302
    [created] = audit_entries("create", object_type="township")
    assert created.changes["name"] == "北岭镇" and created.changes["code"] == "330999101"

    duplicate = officer.post("/townships", data={"name": "城关镇", "code": ""})
    assert duplicate.status_code == 422
    assert field_error(duplicate, "name") == "A township with this name already exists."
    bad_code = officer.post("/townships", data={"name": "西岭镇", "code": "12"})
    assert field_error(bad_code, "code") == "A township code has 9 or 12 digits."

    township = county.townships[2]
    old_name = township.name
    assert officer.post(f"/townships/{township.id}", data={"name": "南山镇新", "code": ""}).status_code == 302
    [renamed] = audit_entries("update", object_type="township")
    assert renamed.changes == {"name": [old_name, "南山镇新"]}
    listing = page_text(officer.get("/townships"))
    assert "南山镇新" in listing and "北岭镇" in listing


def test_townships_are_for_officers(as_user, client, people):
    as_user("viewer")
    assert client.get("/townships").status_code == 200
    assert client.post("/townships", data={"name": "北岭镇"}).status_code == 403
    client.post("/logout")
    as_user("ent-a")
    assert client.get("/townships").status_code == 403
