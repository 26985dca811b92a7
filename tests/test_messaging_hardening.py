"""Messaging hardening (issue 15): role tags belong to the organisation kind and the digest
reaches the bureau's own staff only; campaigns name unknown or out-of-range ids; a fan-out
that fails for good ends the campaign as failed; a stuck campaign can be cancelled; "done"
means every delivery final or its status-report window over."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.extensions import db
from emergency.messaging.models import (
    Campaign,
    Contact,
    OrgKind,
)
from emergency.timeutil import local_today
from plans.drills import reminders
from plans.drills.models import Occurrence

BODY = "【测试县应急管理局】大风蓝色预警：请停止塔吊作业。"


def fields(response) -> set[str]:
    """The fields a 422 problem names."""
    return {error["field"] for error in response.get_json()["errors"]}


@pytest.fixture
def ent_api(people, token_for):
    return token_for("ent-a")


@pytest.fixture
def officer_api(people, token_for):
    return token_for("duty")


def own_contact(people) -> Contact:
    contact = Contact(name="周班长", mobile="+8613700001111", org_kind=OrgKind.enterprise,
                      enterprise_id=people["own"].id, roles_text=",staff,")
    db.session.add(contact)
    db.session.commit()
    return contact


# --- item 2: role tags belong to the organisation kind -------------------------------------------

def test_an_enterprise_user_cannot_make_its_contact_bureau_staff(client, people, ent_api):
    contact = own_contact(people)
    response = client.patch(f"/api/v1/contacts/{contact.id}", headers=ent_api,
                            json={"org_kind": "bureau", "roles": ["bureau_staff"]})
    assert response.status_code == 422, response.get_json()
    assert fields(response) == {"org_kind", "roles"}
    db.session.rollback()
    db.session.expire_all()
    kept = db.session.get(Contact, contact.id)
    assert (kept.org_kind, kept.roles) == (OrgKind.enterprise, ["staff"])
    # Either half alone is refused too, and a new contact cannot carry a bureau role either.
    for body in ({"org_kind": "bureau"}, {"org_kind": "township"}, {"roles": ["bureau_staff"]},
                 {"roles": ["township_official", "staff"]}):
        response = client.patch(f"/api/v1/contacts/{contact.id}", headers=ent_api, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert fields(response) == set(body), body
    response = client.post("/api/v1/contacts", headers=ent_api, json={
        "name": "假局长", "mobile": "13700002222", "org_kind": "bureau", "roles": ["bureau_staff"]})
    assert response.status_code == 422 and "roles" in fields(response)
    assert db.session.scalar(sa.select(sa.func.count()).where(Contact.name == "假局长")) == 0
    # Its own roles are fine.
    response = client.patch(f"/api/v1/contacts/{contact.id}", headers=ent_api, json={"roles": ["team_leader"]})
    assert response.status_code == 200 and response.get_json()["roles"] == ["team_leader"]


def test_officers_set_bureau_roles_on_contacts_the_bureau_owns(client, people, officer_api):
    response = client.post("/api/v1/contacts", headers=officer_api, json={
        "name": "值班科长", "mobile": "13600136001", "org_kind": "bureau", "roles": ["bureau_staff"]})
    assert response.status_code == 201, response.get_json()
    contact = own_contact(people)
    # Not on an enterprise's contact: the kind must change and the enterprise go.
    response = client.patch(f"/api/v1/contacts/{contact.id}", headers=officer_api, json={"roles": ["bureau_staff"]})
    assert response.status_code == 422 and fields(response) == {"roles"}
    response = client.patch(f"/api/v1/contacts/{contact.id}", headers=officer_api, json={"org_kind": "bureau"})
    assert response.status_code == 422 and fields(response) == {"enterprise_id"}
    response = client.patch(f"/api/v1/contacts/{contact.id}", headers=officer_api,
                            json={"org_kind": "bureau", "enterprise_id": None, "roles": ["bureau_staff"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["enterprise_id"] is None


def test_the_contact_form_offers_and_accepts_enterprise_roles_only(client, people, login):
    contact = own_contact(people)
    login("ent-a")
    client.post("/lang/en")
    page = client.get(f"/messaging/contacts/{contact.id}").get_data(as_text=True)
    assert 'value="team_leader"' in page
    assert 'value="bureau_staff"' not in page and 'value="township_official"' not in page
    assert 'value="resident"' not in page
    response = client.post(f"/messaging/contacts/{contact.id}", data={
        "name": "周班长", "mobile": "13700001111", "org_kind": "bureau", "roles": ["bureau_staff"],
        "note": "", "active": "1"})
    assert response.status_code == 422
    assert "Not a role of this organisation type" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).roles == ["staff"]
    assert db.session.scalar(sa.select(sa.func.count()).where(
        AuditEntry.object_type == "contact", AuditEntry.action == "update")) == 0


def test_an_enterprise_user_cannot_import_bureau_roles(client, people, login):
    from emergency.messaging.contact_sheet import SHEET

    login("ent-a")
    sheet = SHEET.export([{"name": "假局长", "mobile": "13700002222", "org_kind": "企业", "enterprise": "",
                           "township": "", "roles": "应急管理局工作人员", "note": ""}])
    import io
    response = client.post("/messaging/contacts/import", data={"file": (io.BytesIO(sheet), "contacts.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).where(Contact.name == "假局长")) == 0


def overdue_drill(people):
    today = local_today()
    db.session.add(Occurrence(key="o-drill_yearly-test", enterprise_id=people["own"].id, obligation="drill_yearly",
                              due_on=today - timedelta(days=5), window_start=today - timedelta(days=30),
                              window_end=today - timedelta(days=5)))
    db.session.commit()


def test_the_digest_goes_to_bureau_owned_staff_only(app, client, people, ent_api, officer_api):
    overdue_drill(people)
    # The attack as it was: an enterprise's contact tagged bureau staff (now refused by the API)...
    contact = own_contact(people)
    assert client.patch(f"/api/v1/contacts/{contact.id}", headers=ent_api,
                        json={"org_kind": "bureau", "roles": ["bureau_staff"]}).status_code == 422
    # ...and such contacts written before the rule (or directly): an enterprise's bureau-kind
    # contact, and an enterprise-kind contact with the bureau tag.
    db.session.add_all([
        Contact(name="旧数据", mobile="+8613700003333", org_kind=OrgKind.bureau, enterprise_id=people["own"].id,
                roles_text=",bureau_staff,"),
        Contact(name="旧数据2", mobile="+8613700004444", org_kind=OrgKind.enterprise,
                enterprise_id=people["other"].id, roles_text=",bureau_staff,"),
    ])
    db.session.commit()
    assert client.post("/api/v1/contacts", headers=officer_api, json={
        "name": "值班科长", "mobile": "13600136001", "org_kind": "bureau", "roles": ["bureau_staff"]}).status_code == 201
    assert reminders.digest() is True
    (digest,) = db.session.scalars(sa.select(Campaign).where(Campaign.source_key.like("drill-digest-%"))).all()
    phones = set(db.session.scalars(sa.select(Contact.mobile).where(Contact.id.in_(digest.audience["contact_ids"]))))
    assert phones == {"+8613600136001"}


def test_officers_filter_groups_take_bureau_contacts_the_bureau_owns(client, people, officer_api):
    db.session.add_all([
        Contact(name="局里的", mobile="+8613600136001", org_kind=OrgKind.bureau, roles_text=",bureau_staff,"),
        Contact(name="旧数据", mobile="+8613700003333", org_kind=OrgKind.bureau, enterprise_id=people["own"].id,
                roles_text=",bureau_staff,"),
        Contact(name="旧数据2", mobile="+8613700004444", org_kind=OrgKind.enterprise,
                enterprise_id=people["other"].id, roles_text=",bureau_staff,"),
    ])
    db.session.commit()
    for criteria in ({"roles": ["bureau_staff"]}, {"org_kinds": ["bureau"]}):
        group = client.post("/api/v1/groups", headers=officer_api,
                            json={"name": str(criteria), "kind": "filter", "criteria": criteria}).get_json()
        response = client.post("/api/v1/campaigns/preview", headers=officer_api, json={
            "kind": "notice", "title": "t", "body": BODY, "priority": "urgent", "group_ids": [group["id"]]})
        assert response.get_json()["recipients"] == 1, criteria
