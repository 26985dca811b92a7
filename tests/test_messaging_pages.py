"""The messaging pages as an officer uses them: contacts, groups, the composer and its preview,
campaign tracking, two-person approval, cancelling, replies, and contacts that follow the
enterprise register. Console SMS provider, in-process queue (see conftest)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.messaging import inbound
from emergency.messaging.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactGroup,
    Delivery,
)
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import SHANGHAI, utcnow
from tests.conftest import PASSWORD, valid_credit_code

CONTACTS = [
    # name, mobile as typed, org kind, enterprise key, role
    ("王伟", "138 0000 0001", "enterprise", "own", "principal"),
    ("李娜", "138-0000-0002", "enterprise", "own", "safety_manager"),
    ("张敏", "+86 138 0000 0003", "enterprise", "other", "principal"),
    ("赵强", "13800000004", "bureau", None, "bureau_staff"),
]


@pytest.fixture
def duty(people, login, client):
    """The client, logged in as the duty officer, with the English interface."""
    login("duty")
    client.post("/lang/en")
    return client


@pytest.fixture
def admin(app, people):
    browser = app.test_client()
    assert browser.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    browser.post("/lang/en")
    return browser


def contact_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Contact.id)))


def add_contact(client, people, name, mobile, org_kind, enterprise, role) -> Contact:
    response = client.post("/messaging/contacts/new", data={
        "name": name, "mobile": mobile, "org_kind": org_kind,
        "enterprise_id": people[enterprise].id if enterprise else "", "township_id": "", "roles": [role],
        "note": "", "active": "1"})  # every input, as a browser sends the form
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert response.headers["Location"] == "/messaging/contacts"
    return db.session.scalar(sa.select(Contact).where(Contact.name == name))


@pytest.fixture
def contacts(duty, people) -> dict[str, Contact]:
    return {row[0]: add_contact(duty, people, *row) for row in CONTACTS}


def counts_on_page(html: str) -> dict[str, int]:
    return {key: int(n) for key, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def compose(client, **fields):
    form = {"kind": "warning", "title": "大风蓝色预警", "priority": "urgent",
            "body": "【测试县应急管理局】大风蓝色预警：请停止塔吊作业。回复1确认。"}
    form.update(fields)
    return client.post("/messaging/campaigns/new", data=form)


def campaign_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    match = re.fullmatch(r"/messaging/campaigns/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def phones_of(campaign_id: int) -> dict[str, str]:
    return {d.phone: d.status.value for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.campaign_id == campaign_id))}


# --- contacts ------------------------------------------------------------------------------

def test_contacts_created_through_the_form_are_stored_in_e164(duty, contacts, people):
    assert {c.name: c.mobile for c in contacts.values()} == {
        "王伟": "+8613800000001", "李娜": "+8613800000002", "张敏": "+8613800000003", "赵强": "+8613800000004"}
    assert contacts["张敏"].enterprise_id == people["other"].id
    assert contacts["王伟"].roles == ["principal"]
    # The list shows numbers as people read them; the form shows the stored E.164 number.
    listing = duty.get("/messaging/contacts").get_data(as_text=True)
    assert "138 0000 0001" in listing and people["own"].name in listing
    edit = duty.get(f"/messaging/contacts/{contacts['王伟'].id}").get_data(as_text=True)
    assert 'value="+8613800000001"' in edit
    found = duty.get("/messaging/contacts?q=李娜").get_data(as_text=True)
    assert "138 0000 0002" in found and "138 0000 0001" not in found


@pytest.mark.parametrize("mobile, problem", [
    ("010-6512 3456", "Must be a mobile number that can receive SMS."),
    ("12345", "Not a valid phone number."),
    ("call me", "Not a phone number."),
    ("", "This field is required."),
])
def test_bad_mobile_is_refused_and_nothing_is_written(duty, people, mobile, problem):
    response = duty.post("/messaging/contacts/new", data={"name": "座机", "mobile": mobile, "org_kind": "bureau"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nothing has been saved" in page
    assert f'id="e-mobile">{problem}<' in page, page[-3000:]  # named beside the mobile field
    assert contact_count() == 0


# --- groups --------------------------------------------------------------------------------

def test_saved_filter_and_static_groups(duty, contacts):
    saved = duty.post("/messaging/groups/new", data={"name": "高风险企业主要负责人", "kind": "filter",
                                                     "high_risk": "1", "roles": ["principal"]})
    assert saved.status_code == 302 and saved.headers["Location"] == "/messaging/groups"
    static = duty.post("/messaging/groups/new", data={"name": "值班名单", "kind": "static",
                                                      "member_ids": [contacts["李娜"].id, contacts["赵强"].id]})
    assert static.status_code == 302
    groups = {g.name: g for g in db.session.scalars(sa.select(ContactGroup))}
    assert groups["高风险企业主要负责人"].criteria == {"high_risk": True, "roles": ["principal"]}
    assert groups["高风险企业主要负责人"].enterprise_id is None
    assert [c.name for c in groups["值班名单"].members] == ["李娜", "赵强"]
    listing = duty.get("/messaging/groups").get_data(as_text=True)
    assert "高风险企业主要负责人" in listing and "2 contacts" in listing

    # A group that selects nobody is refused, and not stored.
    empty = duty.post("/messaging/groups/new", data={"name": "空", "kind": "filter"})
    assert empty.status_code == 422 and "Choose at least one condition." in empty.get_data(as_text=True)
    no_members = duty.post("/messaging/groups/new", data={"name": "空名单", "kind": "static"})
    assert no_members.status_code == 422 and "Choose at least one contact." in no_members.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ContactGroup.id))) == 2


@pytest.fixture
def groups(duty, contacts) -> dict[str, int]:
    duty.post("/messaging/groups/new", data={"name": "高风险企业主要负责人", "kind": "filter",
                                             "high_risk": "1", "roles": ["principal"]})
    duty.post("/messaging/groups/new", data={"name": "值班名单", "kind": "static",
                                             "member_ids": [contacts["李娜"].id, contacts["王伟"].id,
                                                            contacts["赵强"].id]})
    return {g.name: g.id for g in db.session.scalars(sa.select(ContactGroup))}


# --- composing and tracking ----------------------------------------------------------------

def test_preview_counts_recipients_and_parts(duty, groups):
    response = duty.post("/messaging/campaigns/preview", data={
        "kind": "warning", "priority": "urgent", "body": "预" * 71,
        "group_ids": list(groups.values()), "phones": "13800000001\n12345"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    # 王伟 (filter and static group and typed number), 李娜, 赵强 once each; 12345 is no number.
    assert response.get_json() == {"recipients": 3, "opted_out": 0, "invalid": 1, "encoding": "UCS-2",
                                   "characters": 71, "parts": 2, "total_parts": 6}
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


def test_composed_campaign_goes_to_the_groups_and_its_page_shows_counts(duty, groups, contacts):
    response = compose(duty, group_ids=[groups["高风险企业主要负责人"]], phones="13800000004，12345")
    campaign_id = campaign_id_from(response)
    # The filter selects the principal of the high-risk enterprise only (张敏's is a hotel).
    assert phones_of(campaign_id) == {"+8613800000001": "sent", "+8613800000004": "sent", "12345": "invalid"}

    page = duty.get(f"/messaging/campaigns/{campaign_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Campaign released." in html
    assert "nothing reached a phone" in html  # the console provider says so
    assert {k: v for k, v in counts_on_page(html).items() if k in ("total", "sent", "invalid", "failed")} == {
        "total": 3, "sent": 2, "invalid": 1, "failed": 0}
    assert "大风蓝色预警" in duty.get("/messaging/campaigns").get_data(as_text=True)

    status = duty.get(f"/messaging/campaigns/{campaign_id}/status.json")
    assert status.status_code == 200
    data = status.get_json()
    assert data["status"] == db.session.get(Campaign, campaign_id).status.value == "done"
    assert (data["counts"]["total"], data["counts"]["sent"], data["counts"]["invalid"]) == (3, 2, 1)


def test_invalid_composition_is_refused_and_nothing_written(duty, groups):
    no_audience = compose(duty)
    assert no_audience.status_code == 422
    assert "Choose at least one group, contact or number." in no_audience.get_data(as_text=True)
    bad = compose(duty, kind="flood", title="", group_ids=[groups["值班名单"]])
    assert bad.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


def test_two_person_approval(duty, admin, groups):
    saved = admin.post("/messaging/settings", data={"quiet_hours": "22:00-07:00", "two_person_approval": "1"})
    assert saved.status_code == 302
    assert 'name="two_person_approval" value="1" checked' in admin.get("/messaging/settings").get_data(as_text=True)

    campaign_id = campaign_id_from(compose(duty, group_ids=[groups["值班名单"]]))
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign.status == CampaignStatus.awaiting_approval and phones_of(campaign_id) == {}
    page = duty.get(f"/messaging/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Campaign created." in page and "Approve and send" in page

    # The author may not approve it.
    own = duty.post(f"/messaging/campaigns/{campaign_id}/approve", follow_redirects=True)
    assert "an officer other than the author must approve" in own.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id).status == CampaignStatus.awaiting_approval
    assert phones_of(campaign_id) == {}

    approved = admin.post(f"/messaging/campaigns/{campaign_id}/approve")
    assert approved.status_code == 302 and approved.headers["Location"] == f"/messaging/campaigns/{campaign_id}"
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign.approver.username == "admin"
    assert set(phones_of(campaign_id).values()) == {"sent"} and len(phones_of(campaign_id)) == 3


def test_a_scheduled_campaign_is_cancelled_before_it_goes(duty, groups):
    later = (utcnow() + timedelta(hours=3)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    campaign_id = campaign_id_from(compose(duty, group_ids=[groups["值班名单"]], send_at=later))
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign.status == CampaignStatus.scheduled
    assert campaign.send_at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") == later
    assert "Cancel" in duty.get(f"/messaging/campaigns/{campaign_id}").get_data(as_text=True)

    cancelled = duty.post(f"/messaging/campaigns/{campaign_id}/cancel", follow_redirects=True)
    assert cancelled.status_code == 200
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id).status == CampaignStatus.cancelled
    assert duty.get(f"/messaging/campaigns/{campaign_id}/status.json").get_json()["status"] == "cancelled"
    again = duty.post(f"/messaging/campaigns/{campaign_id}/cancel", follow_redirects=True)
    assert "Only a campaign that has not finished sending can be cancelled." in again.get_data(as_text=True)
    assert phones_of(campaign_id) == {}
    assert duty.post(f"/messaging/campaigns/{campaign_id}/explode").status_code == 404


def test_replies_page_lists_an_inbound_confirmation(duty, groups):
    campaign_id = campaign_id_from(compose(duty, group_ids=[groups["值班名单"]], ack_requested="1"))
    inbound.receive("SMreply1", "+8613800000002", "+15005550006", "收到。")
    inbound.receive("SMreply2", "+8613800000004", "+15005550006", "明天几点？")
    db.session.commit()
    page = duty.get("/messaging/replies")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "收到。" in html and "138 0000 0002" in html and "明天几点？" in html
    assert f'href="/messaging/campaigns/{campaign_id}">大风蓝色预警</a>' in html  # what 收到 confirms
    assert counts_on_page(duty.get(f"/messaging/campaigns/{campaign_id}").get_data(as_text=True))[
        "acknowledged"] == 1


# --- contacts that follow the enterprise register ------------------------------------------

def enterprise_form(enterprise: Enterprise, **changes) -> dict:
    form = {name: getattr(enterprise, name) for name in (
        "name", "credit_code", "industry", "scale", "township_id", "principal_name", "principal_mobile",
        "safety_manager_name", "safety_manager_mobile", "address")}
    form.update(changes)
    return {k: ("" if v is None else v) for k, v in form.items()}


def register_contact(enterprise_id: int, role: str) -> Contact:
    return db.session.scalar(sa.select(Contact).where(Contact.enterprise_id == enterprise_id,
                                                      Contact.register_role == role))


def test_register_changes_update_the_synced_contact_which_the_form_will_not_edit(duty, county):
    created = duty.post("/enterprises/new", data={
        "name": "丙危化储运有限公司", "credit_code": valid_credit_code(), "industry": "hazardous_chemicals",
        "scale": "small", "township_id": county.townships[0].id, "principal_name": "王五",
        "principal_mobile": "13700137000", "safety_manager_name": "赵六", "safety_manager_mobile": "13600136000"})
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "丙危化储运有限公司"))
    manager = register_contact(enterprise.id, "safety_manager")
    assert (manager.name, manager.mobile, manager.roles) == ("赵六", "+8613600136000", ["safety_manager"])
    assert register_contact(enterprise.id, "principal").mobile == "+8613700137000"

    edited = duty.post(f"/enterprises/{enterprise.id}/edit", data=enterprise_form(
        enterprise, safety_manager_name="钱七", safety_manager_mobile="135 0013 5000"))
    assert edited.status_code == 302, edited.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    updated = register_contact(enterprise.id, "safety_manager")
    assert updated.id == manager.id
    assert (updated.name, updated.mobile) == ("钱七", "+8613500135000")
    assert register_contact(enterprise.id, "principal").mobile == "+8613700137000"

    # On the contact form, name and mobile are the register's.
    page = duty.get(f"/messaging/contacts/{updated.id}").get_data(as_text=True)
    assert "This contact follows the enterprise register" in page
    form = {"name": "钱七", "mobile": "+8613500135000", "org_kind": "enterprise", "enterprise_id": enterprise.id,
            "roles": ["safety_manager"], "note": "", "active": "1"}
    for field, value in (("mobile", "13900000009"), ("name", "冒名")):
        refused = duty.post(f"/messaging/contacts/{updated.id}", data={**form, field: value})
        assert refused.status_code == 422
        assert "This contact follows the enterprise register: change it there." in refused.get_data(as_text=True)
        db.session.expire_all()
        assert (register_contact(enterprise.id, "safety_manager").name,
                register_contact(enterprise.id, "safety_manager").mobile) == ("钱七", "+8613500135000")
    # Everything else on it is the bureau's to keep.
    noted = duty.post(f"/messaging/contacts/{updated.id}", data={**form, "note": "夜间优先电话", "roles": [
        "safety_manager", "team_leader"]})
    assert noted.status_code == 302
    db.session.expire_all()
    kept = register_contact(enterprise.id, "safety_manager")
    assert (kept.note, kept.roles, kept.mobile) == ("夜间优先电话", ["safety_manager", "team_leader"], "+8613500135000")
