"""Messaging hardening (issue 15): role tags belong to the organisation kind and the digest
reaches the bureau's own staff only; campaigns name unknown or out-of-range ids; a fan-out
that fails for good ends the campaign as failed; a stuck campaign can be cancelled; "done"
means every delivery final or its status-report window over."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.messaging import delivery
from emergency.messaging.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Delivery,
    DeliveryStatus,
    OrgKind,
)
from emergency.core.timeutil import local_today, utcnow
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
    return {**token_for("duty"), "Accept-Language": "en"}


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


# --- item 7: referenced ids, failed fan-outs, stuck campaigns --------------------------------

def campaign_json(**overrides):
    return {"kind": "warning", "title": "大风蓝色预警", "priority": "urgent", "body": BODY, **overrides}


def campaign_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(Campaign.id)))


@pytest.mark.parametrize("field, ids", [
    ("contact_ids", [9223372036854775808]), ("contact_ids", [0]), ("contact_ids", [-1]),
    ("group_ids", [2**64]), ("contact_ids", [424242]), ("group_ids", [424242]),
])
def test_campaigns_name_every_bad_or_unknown_id(client, people, officer_api, field, ids):
    contact = own_contact(people)
    for url in ("/api/v1/campaigns", "/api/v1/campaigns/preview"):
        referenced = {field: [contact.id, *ids]} if field == "contact_ids" else {field: ids}
        response = client.post(url, headers=officer_api, json=campaign_json(**referenced))
        if url.endswith("preview") and ids == [424242]:
            assert response.status_code == 200  # the preview counts whom it finds
            continue
        assert response.status_code == 422, (url, response.get_json())
        assert fields(response) in ({field}, {f"{field}.0"}, {f"{field}.1"}), response.get_json()
        if ids == [424242]:
            assert "424242" in response.get_json()["errors"][0]["detail"]
    assert campaign_count() == 0


def test_the_composer_page_refuses_bad_ids_without_a_server_error(client, people, login):
    login("duty")
    for value in ("9223372036854775808", "424242"):
        response = client.post("/messaging/campaigns/new", data={
            "kind": "warning", "title": "t", "body": BODY, "priority": "urgent", "contact_ids": [value]})
        assert response.status_code == 422, value
        preview = client.post("/messaging/campaigns/preview", data={"body": BODY, "contact_ids": [value]})
        assert preview.status_code == 200 and preview.get_json()["recipients"] == 0
    assert campaign_count() == 0


def stored_campaign(audience: dict, **fields) -> Campaign:
    """A campaign as an older version stored it (ids never checked), already released."""
    campaign = Campaign(kind="warning", title="旧任务", body=BODY, priority="urgent", audience=audience,
                        status=CampaignStatus.sending, released_at=utcnow() - timedelta(minutes=10), **fields)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def test_a_fan_out_that_fails_for_good_ends_the_campaign_as_failed(client, people, officer_api, login):
    campaign = stored_campaign({"contact_ids": [9223372036854775808], "group_ids": [], "phones": []})
    found = delivery.sweep()
    assert found["fan_out"] == 1
    db.session.expire_all()
    failed = db.session.get(Campaign, campaign.id)
    assert failed.status == CampaignStatus.failed and failed.finished_at is not None
    assert "fan-out failed" in failed.failure_reason
    assert delivery.sweep()["fan_out"] == 0  # not retried for ever
    body = client.get(f"/api/v1/campaigns/{campaign.id}", headers=officer_api).get_json()
    assert body["status"] == "failed" and body["failure_reason"] == failed.failure_reason
    assert body["status_detail"].startswith("Failed: fan-out failed")
    assert db.session.scalar(sa.select(sa.func.count()).where(
        AuditEntry.object_type == "campaign", AuditEntry.action == "fail", AuditEntry.object_id == campaign.id)) == 1
    login("duty")
    page = client.get(f"/messaging/campaigns/{campaign.id}").get_data(as_text=True)
    assert "发送失败：fan-out failed" in page


def test_a_stuck_campaign_can_always_be_cancelled(client, people, officer_api):
    contact = own_contact(people)
    # Released, fan-out half done and its queued deliveries' tasks lost (a worker died).
    campaign = stored_campaign({"contact_ids": [contact.id], "group_ids": [], "phones": ["+8613900000009"]})
    db.session.add_all([Delivery(campaign_id=campaign.id, phone=contact.mobile, contact_id=contact.id,
                                 status=DeliveryStatus.queued, queued_at=utcnow() - timedelta(minutes=10))])
    db.session.commit()
    response = client.post(f"/api/v1/campaigns/{campaign.id}/cancel", headers=officer_api)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "cancelled" and body["counts"]["cancelled"] == 1
    assert body["status_detail"] == "Cancelled (1 not sent)"
    found = delivery.sweep()
    assert found == {"reconcile": 0, "requeue": 0, "fan_out": 0, "poll": 0}
    db.session.expire_all()
    statuses = db.session.scalars(sa.select(Delivery.status).where(Delivery.campaign_id == campaign.id)).all()
    assert statuses == [DeliveryStatus.cancelled]
    assert client.post(f"/api/v1/campaigns/{campaign.id}/cancel", headers=officer_api).status_code == 422


# --- item 11: attempts spent only on requests; "done" means final or past the status window ----

@pytest.fixture
def sim_provider(app):
    """The real twilio client against the local simulator, in-process queue, no callbacks."""
    from tests.fakes.twilio.simulator import TwilioSimulator

    with TwilioSimulator(callbacks_enabled=False) as sim:
        app.config.update(SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=sim.account_sid,
                          TWILIO_AUTH_TOKEN=sim.auth_token, TWILIO_FROM="+15005550006",
                          TWILIO_API_BASE_URL=sim.url, PUBLIC_BASE_URL=None)
        yield sim


def test_a_delivery_claimed_by_a_killed_worker_keeps_its_attempts(app, people, sim_provider):
    """The worker claimed it (attempts 1) and died before the request: reconciliation finds
    nothing at the provider, gives the attempt back and sends it once."""
    campaign = stored_campaign({"phones": ["+8613900000009"]}, fanned_out_at=utcnow())
    db.session.add(Delivery(campaign_id=campaign.id, phone="+8613900000009", status=DeliveryStatus.sending,
                            attempts=1, provider="twilio", queued_at=utcnow() - timedelta(minutes=10),
                            sending_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    assert delivery.sweep()["reconcile"] == 1
    db.session.expire_all()
    (row,) = db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == campaign.id)).all()
    assert row.status == DeliveryStatus.sent and sim_provider.count_by_to() == {"+8613900000009": 1}
    assert row.attempts == sim_provider.create_requests == 1


def test_done_means_every_delivery_final_or_past_its_status_window(app, client, people, officer_api, login,
                                                                  sim_provider):
    response = client.post("/api/v1/campaigns", headers=officer_api,
                           json=campaign_json(phones=["13900000001", "13900000002", "13900000003"]))
    campaign_id = response.get_json()["id"]
    body = client.get(f"/api/v1/campaigns/{campaign_id}", headers=officer_api).get_json()
    # Every message is with the provider, no status report has come: not done yet.
    assert body["counts"]["sent"] == 3 and body["status"] == "sending"
    assert body["status_detail"] == "All handed to the provider; waiting for 3 status reports"
    delivery.sweep(now=utcnow() + timedelta(minutes=10))
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=officer_api).get_json()["status"] == "sending"
    # One is reported delivered; the other two never report. Past the window the campaign is
    # done and says how many never reported.
    sid = db.session.scalar(sa.select(Delivery.provider_sid).where(
        Delivery.campaign_id == campaign_id, Delivery.phone == "+8613900000001"))
    assert delivery.apply_provider_status(None, sid, "delivered")
    delivery.sweep(now=utcnow() + timedelta(hours=23))
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=officer_api).get_json()["status"] == "sending"
    # A day later (the default window is 24 hours): as if the messages were sent yesterday.
    for row in db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == campaign_id)):
        row.sent_at -= timedelta(hours=24, minutes=5)
    db.session.commit()
    delivery.sweep(now=utcnow() + timedelta(minutes=10))
    body = client.get(f"/api/v1/campaigns/{campaign_id}", headers=officer_api).get_json()
    assert body["status"] == "done"
    assert body["counts"]["delivered"] == 1 and body["counts"]["no_report"] == 2
    assert body["status_detail"] == "Completed (2 without a status report, past the time they are asked for)"
    login("duty")
    client.post("/lang/zh_CN")
    page = client.get(f"/messaging/campaigns/{campaign_id}").get_data(as_text=True)
    assert "已完成（2 条未收到状态回执，已超过查询时限）" in page


def test_groups_name_unknown_or_out_of_range_references(client, people, officer_api):
    for body, field in (({"kind": "static", "member_ids": [9223372036854775808]}, "member_ids.0"),
                        ({"kind": "static", "member_ids": [424242]}, "member_ids"),
                        ({"kind": "filter", "criteria": {"township_ids": [2**70]}}, "criteria.township_ids.0"),
                        ({"kind": "filter", "criteria": {"township_ids": [424242]}}, "criteria.township_ids")):
        response = client.post("/api/v1/groups", headers=officer_api, json={"name": "组", **body})
        assert response.status_code == 422, (body, response.get_json())
        assert fields(response) == {field}, response.get_json()
