"""Messaging through the API and pages with the console provider and the in-process queue:
recipients, parts, approval, quiet hours, webhooks, replies, opt-outs."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging import delivery, settings
from emergency.messaging.models import Campaign, Contact, Delivery, InboundMessage, OptOut, OrgKind
from emergency.core.timeutil import SHANGHAI, utcnow

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://emergency.example.gov.cn"


@pytest.fixture
def officer_api(people, token_for):
    return token_for("duty")


@pytest.fixture
def contacts(app, people):
    """Five contacts: two share a phone number, one is opted out."""
    rows = [
        Contact(name="王伟", mobile="+8613800000001", org_kind=OrgKind.enterprise, enterprise_id=people["own"].id,
                roles_text=",principal,"),
        Contact(name="李娜", mobile="+8613800000002", org_kind=OrgKind.enterprise, enterprise_id=people["own"].id,
                roles_text=",safety_manager,"),
        Contact(name="李娜(备用)", mobile="+8613800000002", org_kind=OrgKind.township, roles_text=",township_official,"),
        Contact(name="张敏", mobile="+8613800000003", org_kind=OrgKind.enterprise, enterprise_id=people["other"].id,
                roles_text=",principal,"),
        Contact(name="赵强", mobile="+8613800000004", org_kind=OrgKind.bureau, roles_text=",bureau_staff,"),
    ]
    db.session.add_all(rows)
    db.session.add(OptOut(mobile="+8613800000004", source="sms", opted_out_at=utcnow()))
    db.session.commit()
    return rows


def campaign_json(**overrides):
    body = {"kind": "warning", "title": "大风蓝色预警", "priority": "urgent",
            "body": "【测试县应急管理局】大风蓝色预警：请停止塔吊作业。回复1确认。"}
    body.update(overrides)
    return body


def deliveries(campaign_id):
    return {d.phone: d for d in db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == campaign_id))}


def test_preview_counts_recipients_once_and_parts(client, officer_api, contacts):
    ids = [c.id for c in contacts]
    response = client.post("/api/v1/campaigns/preview", headers=officer_api, json=campaign_json(
        contact_ids=ids, phones=["13800000001", "12345"], body="预" * 71))
    assert response.status_code == 200
    # 4 distinct numbers among the contacts and the typed one; one opted out; one invalid.
    assert response.get_json() == {"recipients": 3, "opted_out": 1, "invalid": 1, "encoding": "UCS-2",
                                   "characters": 71, "parts": 2, "total_parts": 6}


@pytest.mark.parametrize("body, parts", [("预" * 70, 1), ("预" * 71, 2), ("预" * 134, 2), ("预" * 135, 3),
                                         ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3)])
def test_parts_follow_ucs2_and_gsm7(client, officer_api, contacts, body, parts):
    response = client.post("/api/v1/campaigns/preview", headers=officer_api,
                           json=campaign_json(contact_ids=[contacts[0].id], body=body))
    assert response.get_json()["parts"] == parts


def test_urgent_campaign_goes_out_through_the_queue(client, officer_api, contacts):
    response = client.post("/api/v1/campaigns", headers=officer_api,
                           json=campaign_json(contact_ids=[c.id for c in contacts], phones=["12345"]))
    assert response.status_code == 201, response.get_json()
    campaign_id = response.get_json()["id"]
    by_phone = deliveries(campaign_id)
    assert {p: d.status.value for p, d in by_phone.items()} == {
        "+8613800000001": "sent", "+8613800000002": "sent", "+8613800000003": "sent",
        "+8613800000004": "opted_out", "12345": "invalid"}
    assert all(d.provider_sid.startswith("CONSOLE") for d in by_phone.values() if d.status.value == "sent")
    assert all(d.attempts == 1 for d in by_phone.values() if d.status.value == "sent")
    detail = client.get(f"/api/v1/campaigns/{campaign_id}", headers=officer_api).get_json()
    assert detail["status"] == "done"
    assert detail["counts"]["sent"] == 3 and detail["counts"]["total"] == 5
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "campaign")).all()
    assert actions == ["create"]


def test_invalid_campaign_is_rejected_with_problem_details_and_nothing_written(client, officer_api, contacts):
    response = client.post("/api/v1/campaigns", headers=officer_api,
                           json={"kind": "flood", "title": "", "body": "", "priority": "soon"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert {"kind", "title", "body", "priority"} <= fields
    no_audience = client.post("/api/v1/campaigns", headers=officer_api, json=campaign_json())
    assert no_audience.status_code == 422
    assert no_audience.get_json()["errors"][0]["field"] == "group_ids"
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


def test_two_person_approval_of_urgent_campaigns(client, people, make_user, token_for, contacts):
    settings.put(None, "two_person_approval", True)
    db.session.commit()
    author, second = token_for("duty"), token_for("admin")
    created = client.post("/api/v1/campaigns", headers=author, json=campaign_json(contact_ids=[contacts[0].id]))
    campaign_id = created.get_json()["id"]
    assert created.get_json()["status"] == "awaiting_approval"
    assert deliveries(campaign_id) == {}
    own = client.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=author)
    assert own.status_code == 422
    assert "approver" in {e["field"] for e in own.get_json()["errors"]}
    approved = client.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=second)
    assert approved.status_code == 200
    assert approved.get_json()["approver"] == "admin"
    assert deliveries(campaign_id)["+8613800000001"].status.value == "sent"
    # Normal messages need no second person.
    normal = client.post("/api/v1/campaigns", headers=author,
                         json=campaign_json(priority="normal", contact_ids=[contacts[0].id]))
    assert normal.get_json()["status"] in ("done", "scheduled")


def _quiet_window_around_now() -> str:
    now = utcnow().astimezone(SHANGHAI)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def test_normal_messages_wait_out_quiet_hours_urgent_do_not(client, officer_api, contacts):
    settings.put(None, "quiet_hours", _quiet_window_around_now())
    db.session.commit()
    normal = client.post("/api/v1/campaigns", headers=officer_api,
                         json=campaign_json(priority="normal", contact_ids=[contacts[0].id])).get_json()
    urgent = client.post("/api/v1/campaigns", headers=officer_api,
                         json=campaign_json(contact_ids=[contacts[0].id])).get_json()
    assert normal["status"] == "scheduled" and deliveries(normal["id"]) == {}
    assert urgent["status"] == "done"
    waiting = db.session.get(Campaign, normal["id"])
    assert campaign_ops.planned_send_time(waiting) > utcnow() + timedelta(minutes=50)
    # The sweep releases nothing during quiet hours, and the campaign once they are over.
    assert campaign_ops.release_due() == 0
    later = utcnow() + timedelta(hours=1, minutes=2)
    assert campaign_ops.release_due(now=later) == 1
    db.session.commit()
    # The clock here is still inside the window, so the batch itself waits too.
    assert deliveries(normal["id"])["+8613800000001"].status.value == "queued"
    assert campaign_ops.release_due(now=utcnow() + timedelta(hours=2)) == 0  # released once only
    settings.put(None, "quiet_hours", "")
    db.session.commit()
    assert delivery.sweep(now=later)["requeue"] == 1
    db.session.expire_all()
    assert deliveries(normal["id"])["+8613800000001"].status.value == "sent"


def test_scheduled_campaign_is_cancelled_before_it_goes(client, officer_api, contacts):
    later = (utcnow() + timedelta(hours=3)).isoformat()
    created = client.post("/api/v1/campaigns", headers=officer_api,
                          json=campaign_json(contact_ids=[contacts[0].id], send_at=later)).get_json()
    assert created["status"] == "scheduled"
    cancelled = client.post(f"/api/v1/campaigns/{created['id']}/cancel", headers=officer_api)
    assert cancelled.get_json()["status"] == "cancelled"
    assert campaign_ops.release_due(now=utcnow() + timedelta(hours=4)) == 0
    again = client.post(f"/api/v1/campaigns/{created['id']}/cancel", headers=officer_api)
    assert again.status_code == 422


def test_viewer_and_enterprise_users_cannot_send(client, people, token_for, contacts):
    for username in ("viewer", "ent-a"):
        response = client.post("/api/v1/campaigns", headers=token_for(username),
                               json=campaign_json(contact_ids=[contacts[0].id]))
        assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


def test_enterprise_user_sees_only_its_own_contacts(client, people, token_for, contacts):
    headers = token_for("ent-a")
    listed = client.get("/api/v1/contacts", headers=headers).get_json()
    assert {c["name"] for c in listed} == {"王伟", "李娜"}
    other = next(c for c in contacts if c.name == "张敏")
    assert client.get(f"/api/v1/contacts/{other.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/contacts/{other.id}", headers=headers, json={"name": "x"}).status_code == 404
    created = client.post("/api/v1/contacts", headers=headers, json={
        "name": "新员工", "mobile": "139 0000 0009", "org_kind": "bureau", "enterprise_id": people["other"].id})
    assert created.status_code == 201
    assert created.get_json()["enterprise_id"] == people["own"].id
    assert created.get_json()["mobile"] == "+8613900000009"


def test_an_enterprise_contact_backs_up_only_with_a_contact_of_its_own_enterprise(client, token_for, contacts):
    headers = token_for("ent-a")
    mine = next(c for c in contacts if c.name == "李娜")
    theirs = next(c for c in contacts if c.name == "张敏")
    count = db.session.scalar(sa.select(sa.func.count(Contact.id)))
    refused = client.post("/api/v1/contacts", headers=headers, json={
        "name": "夜班班长", "mobile": "139 0000 0010", "org_kind": "enterprise", "backup_contact_id": theirs.id})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["backup_contact_id"]
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == count
    ours = client.post("/api/v1/contacts", headers=headers, json={
        "name": "夜班班长", "mobile": "139 0000 0010", "org_kind": "enterprise", "backup_contact_id": mine.id})
    assert ours.status_code == 201 and ours.get_json()["backup_contact_id"] == mine.id
    itself = client.patch(f"/api/v1/contacts/{ours.get_json()['id']}", headers=headers,
                          json={"backup_contact_id": ours.get_json()["id"]})
    assert itself.status_code == 422


def test_contact_mobile_is_validated(client, officer_api):
    response = client.post("/api/v1/contacts", headers=officer_api,
                           json={"name": "座机", "mobile": "010-6512 3456", "org_kind": "bureau"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "mobile"
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


# --- webhooks ------------------------------------------------------------------------------

@pytest.fixture
def signed(app):
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC)
    validator = RequestValidator(AUTH_TOKEN)

    def post(client, path: str, form: dict, signature: str | None = None):
        url = PUBLIC + path
        headers = {"X-Twilio-Signature": signature if signature is not None else validator.compute_signature(url, form)}
        return client.post(path, data=form, headers=headers)

    return post


@pytest.fixture
def sent_delivery(client, officer_api, contacts):
    created = client.post("/api/v1/campaigns", headers=officer_api,
                          json=campaign_json(contact_ids=[contacts[0].id], ack_requested=True)).get_json()
    return deliveries(created["id"])["+8613800000001"]


def _status_form(delivery, status, error=None):
    form = {"MessageSid": delivery.provider_sid, "MessageStatus": status, "AccountSid": "AC1", "To": delivery.phone}
    if error:
        form["ErrorCode"] = error
    return form


def test_status_callback_with_bad_or_missing_signature_changes_nothing(client, signed, sent_delivery):
    path = f"/webhooks/twilio/status?d={sent_delivery.id}"
    assert signed(client, path, _status_form(sent_delivery, "delivered"), signature="forged").status_code == 403
    assert client.post(path, data=_status_form(sent_delivery, "delivered")).status_code == 403
    db.session.expire_all()
    assert db.session.get(Delivery, sent_delivery.id).status.value == "sent"


def test_status_callbacks_are_idempotent_and_never_go_backwards(client, signed, sent_delivery):
    path = f"/webhooks/twilio/status?d={sent_delivery.id}"
    for status in ("delivered", "delivered", "sent", "queued"):
        assert signed(client, path, _status_form(sent_delivery, status)).status_code == 204
    db.session.expire_all()
    delivery = db.session.get(Delivery, sent_delivery.id)
    assert delivery.status.value == "delivered"
    assert delivery.delivered_at is not None


def test_status_callback_for_another_message_sid_is_ignored(client, signed, sent_delivery):
    form = _status_form(sent_delivery, "failed")
    form["MessageSid"] = "SM" + "0" * 32
    assert signed(client, f"/webhooks/twilio/status?d={sent_delivery.id}", form).status_code == 204
    db.session.expire_all()
    assert db.session.get(Delivery, sent_delivery.id).status.value == "sent"


def test_error_21610_in_a_callback_opts_the_number_out(client, signed, sent_delivery):
    form = _status_form(sent_delivery, "undelivered", error="21610")
    signed(client, f"/webhooks/twilio/status?d={sent_delivery.id}", form)
    assert db.session.get(OptOut, sent_delivery.phone) is not None


def _inbound(body, sid, phone="+8613800000001"):
    return {"MessageSid": sid, "From": phone, "To": "+15005550006", "Body": body, "AccountSid": "AC1"}


def test_replies_acknowledge_opt_out_and_opt_in(client, signed, sent_delivery):
    ok = signed(client, "/webhooks/twilio/inbound", _inbound(" 收到。", "SMa1"))
    assert ok.status_code == 200 and ok.mimetype == "text/xml"
    db.session.expire_all()
    assert db.session.get(Delivery, sent_delivery.id).acknowledged_at is not None
    signed(client, "/webhooks/twilio/inbound", _inbound(" 收到。", "SMa1"))  # the same webhook again
    assert db.session.scalar(sa.select(sa.func.count(InboundMessage.id))) == 1

    signed(client, "/webhooks/twilio/inbound", _inbound("退订", "SMa2"))
    assert db.session.get(OptOut, "+8613800000001").source == "sms"
    signed(client, "/webhooks/twilio/inbound", _inbound("START", "SMa3"))
    assert db.session.get(OptOut, "+8613800000001") is None
    signed(client, "/webhooks/twilio/inbound", _inbound("明天几点？", "SMa4"))
    meanings = db.session.scalars(sa.select(InboundMessage.meaning).order_by(InboundMessage.id)).all()
    assert meanings == ["ack", "stop", "start", "other"]
    forged = signed(client, "/webhooks/twilio/inbound", _inbound("TD", "SMa5"), signature="bad")
    assert forged.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(InboundMessage.id))) == 4


def test_opted_out_numbers_are_never_sent_to(client, officer_api, signed, contacts):
    signed(client, "/webhooks/twilio/inbound", _inbound("TD", "SMb1", phone="+8613800000003"))
    created = client.post("/api/v1/campaigns", headers=officer_api,
                          json=campaign_json(contact_ids=[contacts[3].id, contacts[0].id])).get_json()
    by_phone = deliveries(created["id"])
    assert by_phone["+8613800000003"].status.value == "opted_out"
    assert by_phone["+8613800000003"].provider_sid is None
    assert by_phone["+8613800000001"].status.value == "sent"


def test_an_interrupted_fan_out_is_completed_by_the_sweep(app, officer_api, contacts):
    """A worker killed in the middle of a fan-out leaves recipients without delivery rows."""
    campaign = Campaign(kind="warning", title="t", body="b", priority="urgent", status="sending",
                        audience={"contact_ids": [c.id for c in contacts[:3]], "phones": ["+8613900000001"]},
                        released_at=utcnow() - timedelta(minutes=10))
    db.session.add(campaign)
    db.session.flush()
    db.session.add(Delivery(campaign_id=campaign.id, phone="+8613800000001", status="sent", attempts=1,
                            provider_sid="CONSOLEx", sent_at=utcnow()))
    db.session.commit()
    delivery.finish_campaigns([campaign.id])
    assert db.session.get(Campaign, campaign.id).status.value == "sending"  # not done: fan-out unfinished
    assert delivery.sweep()["fan_out"] == 1
    db.session.expire_all()
    assert {p: d.status.value for p, d in deliveries(campaign.id).items()} == {
        "+8613800000001": "sent", "+8613800000002": "sent", "+8613900000001": "sent"}
    assert db.session.get(Campaign, campaign.id).status.value == "done"
