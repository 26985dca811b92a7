"""The isolation proof: every route, every role, against another enterprise's records.

The table ``ROUTES`` classifies every rule of ``app.url_map`` (pages and /api/v1) with the
status each role must get. URL parameters that name enterprise-owned data (an enterprise, a
user of an enterprise, an API token of such a user) are filled with enterprise B's records,
and the walk is done as enterprise A's user, as a read-only viewer, as an officer, as an
admin and anonymously. For every request the test also checks that:

* anonymous visitors are sent to the login page (pages) or get 401 (API), except on the
  explicitly public routes (the provider's webhooks among them: they are signature-checked,
  so a request without a valid signature gets 403 from everybody);
* enterprise A never sees B's name, credit code, user, token, contact, group or campaign in
  any response;
* a request that a role may not make leaves the database exactly as it was.

Adding a route without adding it here fails ``test_every_route_is_classified``.
"""
from __future__ import annotations

import datetime
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask import g

from emergency.audit.models import AuditEntry
from emergency.auth import operations as auth_ops
from emergency.core.extensions import db
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging import contacts as contact_ops
from emergency.messaging import delivery as delivery_ops
from emergency.messaging import groups as group_ops
from emergency.messaging import inbound
from emergency.messaging.models import Contact, Delivery, OptOut, OrgKind
from emergency.organisations import operations as org_ops
from emergency.organisations.models import Enterprise
from emergency.organisations.schemas import ENTERPRISE_SELF_SERVICE_FIELDS
from plans.filing import operations as filing_ops
from plans.drills.models import Drill, Occurrence
from plans.drills import actions as drill_action_ops
from plans.drills import records as drill_records
from plans.plan import operations as plan_ops
from emergency.workdays import operations as calendar_ops
from emergency.workdays.models import DayKind
from emergency.workdays.rules import Entry
from tests.conftest import PASSWORD, valid_credit_code

ROLES = ("anonymous", "admin", "officer", "viewer", "ent_a")
LOGGED_IN = ROLES[1:]
USERNAMES = {"admin": "admin", "officer": "duty", "viewer": "viewer", "ent_a": "ent-a"}
B_TOKEN_NAME = "乙酒店对接令牌"
B_ADDRESS = "乙酒店专用地址88号"
B_CONTACT_NAME = "孙八乙酒店值班"
B_CONTACT_MOBILE = "+8613711112222"
B_GROUP_NAME = "乙酒店内部通知群"
B_CAMPAIGN_TITLE = "乙酒店内部停水通知"
B_CAMPAIGN_BODY = "【乙酒店】明日9时至12时停水检修，请提前储水。回复1确认。"
ATTACKER_MOBILE = "13000000666"
B_PLAN_TITLE = "乙酒店火灾事故专用应急预案"
B_PLAN_TEXT = "乙酒店客房楼层疏散由楼层服务员引导"
B_CYCLE_NAME = "乙酒店客房楼层每周疏散小练"
B_DRILL_PROBLEM = "乙酒店客房层烟感报警未联动广播"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TWILIO_TOKEN = "walk-auth-token-0123456789abcdef"
#: Columns that change merely because a request was made (not a change of records).
NOT_STATE = {("api_token", "last_used_at"), ("user_session", "last_seen_at")}


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """Give every request its own ``g``, as production does (see test_auth.py)."""

    def forget(_error=None):
        for name in list(g):
            g.pop(name, None)

    app.teardown_request(forget)


# --- the world: two enterprises, their users, tokens and audit entries -------------------

@dataclass
class World:
    own: Enterprise
    other: Enterprise
    other_user_id: int
    other_token_id: int
    township_id: int
    new_credit_code: str
    api_credit_code: str
    other_contact_id: int = 0
    other_group_id: int = 0
    other_campaign_id: int = 0
    other_delivery_id: int = 0
    other_delivery_sid: str = ""
    other_plan_id: int = 0
    other_section_id: int = 0
    #: The last section of B's draft: the one the walk deletes.
    other_last_section_id: int = 0
    other_attachment_id: int = 0
    #: A Word import of B's draft waiting for the worker (never run: confirming it is refused).
    other_import_job_id: int = 0
    other_filing_id: int = 0
    other_cycle_id: int = 0
    other_spare_cycle_id: int = 0
    other_occurrence_ids: tuple[int, ...] = ()
    other_drill_id: int = 0
    other_drill_file_id: int = 0
    other_action_id: int = 0
    other_api_action_id: int = 0
    other_spot_check_id: int = 0
    other_api_spot_check_id: int = 0
    calendar_day_id: int = 0
    other_feed_id: int = 0
    revoked_feed_token: str = ""
    clients: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def secrets_of_b(self) -> list[str]:
        """Strings that identify enterprise B; A must never be shown any of them."""
        return [self.other.name, self.other.credit_code, "ent-b", B_TOKEN_NAME, B_ADDRESS,
                B_CONTACT_NAME, B_CONTACT_MOBILE[3:], "137 1111 2222", B_GROUP_NAME, B_CAMPAIGN_TITLE,
                B_CAMPAIGN_BODY, B_PLAN_TITLE, B_PLAN_TEXT, B_CYCLE_NAME, B_DRILL_PROBLEM]


@pytest.fixture
def world(app, people, county, make_filing, make_cycle) -> World:
    own, other = people["own"], people["other"]
    officer = people["officer"]
    # Audit entries on both enterprises (the summary carries the enterprise's name).
    org_ops.update_enterprise(officer, other, {"address": B_ADDRESS})
    org_ops.update_enterprise(officer, own, {"address": "甲化工厂区1号"})
    _raw, b_token = auth_ops.issue_token(people["other_enterprise"], B_TOKEN_NAME)
    tokens = {}
    for role, username in USERNAMES.items():
        user = people["enterprise"] if role == "ent_a" else people[{"officer": "officer"}.get(role, role)]
        assert user.username == username
        raw, _token = auth_ops.issue_token(user, f"{role}-token")
        tokens[role] = {"Authorization": f"Bearer {raw}"}
    db.session.commit()

    # Messaging: B's own contact, group and campaign (sent through the console provider and
    # the in-process queue), one of its deliveries failed for a retryable reason, and a reply.
    contact = contact_ops.create_contact(officer, {
        "name": B_CONTACT_NAME, "mobile": B_CONTACT_MOBILE, "org_kind": OrgKind.enterprise,
        "enterprise_id": other.id, "roles": ["staff"]})
    group = group_ops.create_group(officer, {"name": B_GROUP_NAME, "kind": "static", "member_ids": [contact.id]},
                                   enterprise_id=other.id)
    campaign = campaign_ops.create_campaign(officer, {
        "kind": "notice", "title": B_CAMPAIGN_TITLE, "body": B_CAMPAIGN_BODY, "priority": "urgent",
        "ack_requested": True, "group_ids": [group.id]}, enterprise_id=other.id)
    db.session.commit()  # the fan-out runs here
    sent = db.session.scalar(sa.select(Delivery).where(Delivery.campaign_id == campaign.id))
    assert sent is not None and sent.provider_sid and sent.phone == B_CONTACT_MOBILE, "B's campaign was not sent"
    assert delivery_ops.apply_provider_status(sent.id, sent.provider_sid, "undelivered", "30003")
    inbound.receive("SMwalk-reply", B_CONTACT_MOBILE, "+15005550006", "明天几点停水？")
    # Two calendar overrides of a year the package does not cover: one for the pages, one for the API.
    calendar_day, _api_day = calendar_ops.add_days(people["admin"], [
        Entry(datetime.date(2027, 10, 1), DayKind.holiday, "国庆节"),
        Entry(datetime.date(2027, 10, 2), DayKind.holiday, "国庆节")])
    db.session.commit()
    # B's comprehensive plan: version 1 published and filed (with its registration form),
    # version 2 a draft under revision.
    filing = make_filing(other, by=officer, title=B_PLAN_TITLE, body=f"<p>{B_PLAN_TEXT}</p>",
                         signed_on=datetime.date(2026, 11, 2))
    first, plan = filing.version, filing.version.plan
    attachment = first.attachments_of("risk_assessment")[0]
    b_drill = db.session.scalar(sa.select(Drill).where(Drill.versions.any(id=first.id)))
    filing_ops.submit(people["other_enterprise"], filing, {})
    filing_ops.accept(officer, filing)
    draft = plan_ops.start_revision(officer, plan, {"revision_trigger": "risk_changed"})
    db.session.commit()
    import_job = queued_import(app, officer, draft)
    # Drills: two weekly cycles of B (one to change, one to stop) and their occurrences.
    cycle = make_cycle(other, by=officer, name=B_CYCLE_NAME, starts_on=datetime.date.today())
    spare = make_cycle(other, by=officer, name=B_CYCLE_NAME + "（备用）", preset="monthly_large",
                       starts_on=datetime.date.today())
    b_occurrences = tuple(db.session.scalars(sa.select(Occurrence.id).where(Occurrence.cycle_id == cycle.id)
                                             .order_by(Occurrence.due_on)).all()[:2])
    # B's calendar feeds: one live (to revoke), one revoked (its URL must answer 404 to everybody).
    from plans.drills import feeds as feed_ops

    b_feed, _raw = feed_ops.create_feed(people["other_enterprise"], {"label": "乙酒店演练订阅"})
    revoked_feed, revoked_token = feed_ops.create_feed(people["other_enterprise"], {"label": "乙酒店旧订阅"})
    feed_ops.revoke_feed(people["other_enterprise"], revoked_feed)
    # B's drill (reported: B is a crowded place): a file, an evaluation with two corrective
    # actions, and two spot checks that ordered corrections (one for the pages, one for the API).
    assert b_drill.reported_at is not None
    b_file = drill_records.add_file(officer, b_drill, "乙酒店演练签到表.pdf", PDF_BYTES)
    due = datetime.date.today() + datetime.timedelta(days=30)
    evaluation = drill_records.save_evaluation(officer, b_drill, {
        "evaluated_on": datetime.date.today(), "objectives": [{"objective": "疏散引导", "rating": "poor", "note": ""}],
        "problems": [{"problem": B_DRILL_PROBLEM, "owner_name": "乙经理", "due_on": due},
                     {"problem": f"{B_DRILL_PROBLEM}（接口）", "owner_name": "乙经理", "due_on": due}]})
    checks = [drill_action_ops.spot_check(officer, b_drill, {
        "checked_on": datetime.date.today(), "result": "short", "correction_required": f"{B_DRILL_PROBLEM}，限期整改",
        "correction_due": due}) for _ in range(2)]
    db.session.commit()
    # Webhooks are checked against a configured token: only the signature keeps them out.
    app.config.update(TWILIO_AUTH_TOKEN=TWILIO_TOKEN, PUBLIC_BASE_URL="https://emergency.example.gov.cn")

    clients = {"anonymous": app.test_client()}
    for role, username in USERNAMES.items():
        browser = app.test_client()
        response = browser.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302
        clients[role] = browser
    return World(own=own, other=other, other_user_id=people["other_enterprise"].id,
                 other_token_id=b_token.id, township_id=county.townships[0].id,
                 new_credit_code=valid_credit_code(), api_credit_code=valid_credit_code(),
                 other_contact_id=contact.id, other_group_id=group.id, other_campaign_id=campaign.id,
                 other_delivery_id=sent.id, other_delivery_sid=sent.provider_sid, calendar_day_id=calendar_day.id,
                 other_plan_id=plan.id, other_section_id=draft.sections[0].id,
                 other_last_section_id=draft.sections[-1].id, other_attachment_id=attachment.id,
                 other_import_job_id=import_job.id,
                 other_filing_id=filing.id, other_cycle_id=cycle.id, other_spare_cycle_id=spare.id,
                 other_occurrence_ids=b_occurrences, other_feed_id=b_feed.id,
                 revoked_feed_token=revoked_token,
                 other_drill_id=b_drill.id, other_drill_file_id=b_file.id,
                 other_action_id=evaluation.actions[0].id, other_api_action_id=evaluation.actions[1].id,
                 other_spot_check_id=checks[0].id, other_api_spot_check_id=checks[1].id,
                 clients=clients, tokens=tokens)


def queued_import(app, actor, version):
    """A Word import job of a large file, enqueued for the worker and left there."""
    from plans.plan import imports as plan_imports
    from emergency.core.queue import app_queue

    huey = app_queue(app).huey
    app.config["DOCX_IMPORT_INLINE_PARAGRAPHS"] = 0
    huey.immediate = False
    try:
        job = plan_imports.start(actor, version, "乙酒店预案.docx", api_word_preview(None)["file"][0].getvalue())
        db.session.commit()
        huey.flush()
    finally:
        huey.immediate = True
        app.config["DOCX_IMPORT_INLINE_PARAGRAPHS"] = 1000
    assert job.status == "queued"
    return job


def enterprise_body(w: World) -> dict[str, Any]:
    return {
        "name": "丙新建企业有限公司", "credit_code": w.new_credit_code, "industry": "manufacturing",
        "scale": "small", "township_id": w.township_id, "principal_name": "王五",
        "principal_mobile": "+8613700137000", "safety_manager_name": "赵六",
        "safety_manager_mobile": "+8613600136000",
    }


# --- the route table ----------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    #: "public" (no login), "page" (session login) or "api" (bearer token).
    access: str
    #: Expected status per role; "anonymous" only for public routes (otherwise implied).
    expect: dict[str, int]
    values: Callable[[World], dict[str, Any]] = lambda w: {}
    body: Callable[[World], dict[str, Any]] | None = None
    #: Roles whose request may legitimately change the database.
    may_change: frozenset[str] = frozenset()
    #: Where a redirect must lead, per role (a path, or a function of the world).
    redirect_to: dict[str, Callable[[World], str]] = field(default_factory=dict)
    #: Ends the session or token it is made with: walked after everything else.
    last: bool = False
    #: Extra request headers.
    headers: Callable[[World], dict[str, str]] | None = None
    #: The API body is sent as multipart/form-data (an upload), not JSON.
    multipart: bool = False


def every(status: int, **overrides: int) -> dict[str, int]:
    return {**{role: status for role in LOGGED_IN}, **overrides}


def officers(status: int, *, viewer: int | None = None, ent_a: int) -> dict[str, int]:
    return {"admin": status, "officer": status, "viewer": status if viewer is None else viewer,
            "ent_a": ent_a}


def admin_only(status: int) -> dict[str, int]:
    return {"admin": status, "officer": 403, "viewer": 403, "ent_a": 403}


B_ENTERPRISE = lambda w: {"enterprise_id": w.other.id}  # noqa: E731
B_USER = lambda w: {"user_id": w.other_user_id}  # noqa: E731
B_TOKEN = lambda w: {"token_id": w.other_token_id}  # noqa: E731
TOWNSHIP = lambda w: {"township_id": w.township_id}  # noqa: E731
OWN_DETAIL = lambda w: f"/enterprises/{w.own.id}"  # noqa: E731
EDITORS_CHANGE = frozenset({"admin", "officer"})
#: Contacts are kept by officers and, for their own enterprise, by enterprise users.
CONTACT_KEEPERS = frozenset({"admin", "officer", "ent_a"})
B_CONTACT = lambda w: {"contact_id": w.other_contact_id}  # noqa: E731
B_GROUP = lambda w: {"group_id": w.other_group_id}  # noqa: E731
B_CAMPAIGN = lambda w: {"campaign_id": w.other_campaign_id}  # noqa: E731
B_PLAN = lambda w: {"plan_id": w.other_plan_id}  # noqa: E731
B_DRAFT = lambda w: {"plan_id": w.other_plan_id, "number": 2}  # noqa: E731
B_PUBLISHED = lambda w: {"plan_id": w.other_plan_id, "number": 1}  # noqa: E731
B_SECTION = lambda w: {"plan_id": w.other_plan_id, "number": 2, "section_id": w.other_section_id}  # noqa: E731
B_LAST_SECTION = lambda w: {"plan_id": w.other_plan_id, "number": 2,  # noqa: E731
                              "section_id": w.other_last_section_id}
B_ATTACHMENT = lambda w: {"attachment_id": w.other_attachment_id}  # noqa: E731
B_IMPORT_JOB = lambda w: {"plan_id": w.other_plan_id, "number": 2, "job_id": w.other_import_job_id}  # noqa: E731
B_FILING = lambda w: {"filing_id": w.other_filing_id}  # noqa: E731
#: Plans are written by the enterprise and, for it, by the bureau's officers.
PLAN_WRITERS = frozenset({"admin", "officer"})


def plan_editor(status: int) -> dict[str, int]:
    """A change to B's plan: officers may, viewers may not, A never finds it."""
    return {"admin": status, "officer": status, "viewer": 403, "ent_a": 404}
CALENDAR_DAY = lambda w: {"day_id": w.calendar_day_id}
B_CYCLE = lambda w: {"cycle_id": w.other_cycle_id}  # noqa: E731
B_SPARE_CYCLE = lambda w: {"cycle_id": w.other_spare_cycle_id}  # noqa: E731
B_OCCURRENCE = lambda w: {"occurrence_id": w.other_occurrence_ids[0]}  # noqa: E731
B_OTHER_OCCURRENCE = lambda w: {"occurrence_id": w.other_occurrence_ids[1]}  # noqa: E731
#: Drill cycles are kept by the enterprise itself and, for it, by officers.
DRILL_KEEPERS = frozenset({"admin", "officer", "ent_a"})


def cycle_form(w: World) -> dict[str, Any]:
    return {"name": "走查演练周期", "preset": "weekly_small", "starts_on": datetime.date.today().isoformat()}
ADMIN_CHANGES = frozenset({"admin"})
B_FEED = lambda w: {"feed_id": w.other_feed_id}  # noqa: E731
REVOKED_FEED = lambda w: {"token": w.revoked_feed_token}  # noqa: E731
#: Calendar feeds are created by officers and, for their own enterprise, by enterprise users.
FEED_KEEPERS = frozenset({"admin", "officer", "ent_a"})
FORGED_SIGNATURE = lambda w: {"X-Twilio-Signature": "Zm9yZ2VkLXNpZ25hdHVyZQ=="}  # noqa: E731


def contact_form(w: World) -> dict[str, Any]:
    """A new contact that names enterprise B (enterprise users' contacts are their own regardless)."""
    return {"name": "走查新联系人", "mobile": "137 0000 0001", "org_kind": "enterprise",
            "enterprise_id": w.other.id, "township_id": "", "roles": ["staff"], "note": "", "active": "1"}


def campaign_form(w: World) -> dict[str, Any]:
    return {"kind": "warning", "title": "走查预警", "body": "【测试县应急管理局】走查预警。", "priority": "urgent",
            "group_ids": [w.other_group_id]}

# Plans API (routes at the end of ROUTES).
API_REVIEW = lambda w: {"held_on": "2026-11-20", "conclusion": "pass", "opinion": "同意",  # noqa: E731
                        "experts": [{"name": "专家甲", "organisation": "县应急专家库", "speciality": "消防",
                                     "no_conflict": True}]}



def api_upload(w: World) -> dict[str, Any]:
    return {"kind": "other", "file": (io.BytesIO(PDF_BYTES), "走查附件.pdf")}


def api_word_preview(w: World) -> dict[str, Any]:
    import docx

    document = docx.Document()
    document.add_heading("走查导入", level=1)
    document.add_paragraph("走查正文")
    buffer = io.BytesIO()
    document.save(buffer)
    return {"file": (io.BytesIO(buffer.getvalue()), "走查.docx")}


# Drill records (B's drill: reported, with a file, an evaluation, two actions and two spot checks).
B_DRILL = lambda w: {"drill_id": w.other_drill_id}  # noqa: E731
B_DRILL_FILE = lambda w: {"file_id": w.other_drill_file_id}  # noqa: E731
B_ACTION = lambda w: {"action_id": w.other_action_id}  # noqa: E731
B_API_ACTION = lambda w: {"action_id": w.other_api_action_id}  # noqa: E731
B_SPOT_CHECK = lambda w: {"check_id": w.other_spot_check_id}  # noqa: E731
B_API_SPOT_CHECK = lambda w: {"check_id": w.other_api_spot_check_id}  # noqa: E731


def drill_body(w: World) -> dict[str, Any]:
    """A drill naming enterprise B (an enterprise user's drill is its own regardless)."""
    yesterday = datetime.datetime.now() - datetime.timedelta(days=1)
    return {"enterprise_id": w.other.id, "title": "走查演练", "started_at": yesterday.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 60, "form": "tabletop", "content": "single", "purpose": "inspection",
            "location": "走查地点"}


def evaluation_body(w: World) -> dict[str, Any]:
    return {"evaluated_on": datetime.date.today().isoformat(), "objectives": [{"objective": "走查", "rating": "good"}],
            "problems": [{"problem": "走查问题", "owner_name": "走查人",
                          "due_on": (datetime.date.today() + datetime.timedelta(days=9)).isoformat()}]}


DRILL_RECORD_ROUTES: tuple[Route, ...] = (
    Route("/drills", "GET", "page", every(200)),
    Route("/drills/new", "GET", "page", officers(200, viewer=403, ent_a=200)),
    Route("/drills/new", "POST", "page", officers(302, viewer=403, ent_a=302), body=drill_body,
          may_change=PLAN_WRITERS | {"ent_a"}),
    Route("/drills/reported", "GET", "page", officers(200, ent_a=403)),
    Route("/drills/<int:drill_id>", "GET", "page", officers(200, ent_a=404), values=B_DRILL),
    Route("/drills/<int:drill_id>/edit", "GET", "page", plan_editor(200), values=B_DRILL),
    Route("/drills/<int:drill_id>/edit", "POST", "page", plan_editor(302), values=B_DRILL,
          body=lambda w: {**drill_body(w), "location": "被篡改的地点"}, may_change=PLAN_WRITERS),
    # No file chosen: refused with a message by those who may add one.
    Route("/drills/<int:drill_id>/files", "POST", "page", plan_editor(302), values=B_DRILL, body=lambda w: {}),
    Route("/drill-files/<int:file_id>", "GET", "page", officers(200, ent_a=404), values=B_DRILL_FILE),
    Route("/drills/<int:drill_id>/evaluation", "GET", "page", plan_editor(200), values=B_DRILL),
    Route("/drills/<int:drill_id>/evaluation", "POST", "page", plan_editor(302), values=B_DRILL,
          body=lambda w: {"evaluated_on": datetime.date.today().isoformat(), "objective": "走查", "rating": "good"},
          may_change=PLAN_WRITERS),
    Route("/corrective-actions", "GET", "page", every(200)),
    Route("/corrective-actions/<int:action_id>/status", "POST", "page", plan_editor(302), values=B_ACTION,
          body=lambda w: {"status": "done", "evidence": "走查"}, may_change=PLAN_WRITERS),
    # B's plan has a draft already: a revision from the problem is refused with a message.
    Route("/corrective-actions/<int:action_id>/revision", "POST", "page", plan_editor(302), values=B_ACTION,
          body=lambda w: {"plan_id": w.other_plan_id}),
    Route("/drills/<int:drill_id>/spot-check", "POST", "page", officers(302, viewer=403, ent_a=403), values=B_DRILL,
          body=lambda w: {"checked_on": datetime.date.today().isoformat(), "result": "satisfactory"},
          may_change=EDITORS_CHANGE),
    Route("/spot-checks/<int:check_id>/answer", "POST", "page", plan_editor(302), values=B_SPOT_CHECK,
          body=lambda w: {"response": "走查答复"}, may_change=PLAN_WRITERS),
    Route("/spot-checks/<int:check_id>/close", "POST", "page", officers(302, viewer=403, ent_a=403),
          values=B_SPOT_CHECK, may_change=EDITORS_CHANGE),
    # B's draft is a revision: nothing to waive (refused with a message); only officers may try.
    Route("/plans/<int:plan_id>/versions/<int:number>/waive-drill", "POST", "page",
          officers(302, viewer=403, ent_a=403), values=B_DRAFT, body=lambda w: {"reason": "走查"}),
    Route("/api/v1/drills", "GET", "api", every(200)),
    Route("/api/v1/drills", "POST", "api", officers(201, viewer=403, ent_a=201),
          body=lambda w: {**drill_body(w), "duration_minutes": 45}, may_change=PLAN_WRITERS | {"ent_a"}),
    Route("/api/v1/drills/<int:drill_id>", "GET", "api", officers(200, ent_a=404), values=B_DRILL),
    Route("/api/v1/drills/<int:drill_id>", "PATCH", "api", plan_editor(200), values=B_DRILL,
          body=lambda w: {"location": "被篡改的地点"}, may_change=PLAN_WRITERS),
    # No file in the body: refused by validation (before the record is looked up) for writers.
    Route("/api/v1/drills/<int:drill_id>/files", "POST", "api", officers(422, viewer=403, ent_a=422),
          values=B_DRILL, body=lambda w: {}),
    Route("/api/v1/drills/<int:drill_id>/evaluation", "GET", "api", officers(200, ent_a=404), values=B_DRILL),
    Route("/api/v1/drills/<int:drill_id>/evaluation", "PUT", "api", plan_editor(200), values=B_DRILL,
          body=evaluation_body, may_change=PLAN_WRITERS),
    Route("/api/v1/corrective-actions", "GET", "api", every(200)),
    Route("/api/v1/corrective-actions/<int:action_id>", "GET", "api", officers(200, ent_a=404), values=B_API_ACTION),
    Route("/api/v1/corrective-actions/<int:action_id>", "PATCH", "api", plan_editor(200), values=B_API_ACTION,
          body=lambda w: {"status": "done", "evidence": "走查"}, may_change=PLAN_WRITERS),
    Route("/api/v1/corrective-actions/<int:action_id>/revision", "POST", "api", plan_editor(422),
          values=B_API_ACTION, body=lambda w: {"plan_id": w.other_plan_id}),
    Route("/api/v1/spot-checks", "GET", "api", every(200)),
    Route("/api/v1/drills/<int:drill_id>/spot-checks", "POST", "api", officers(201, viewer=403, ent_a=403),
          values=B_DRILL, body=lambda w: {"checked_on": datetime.date.today().isoformat(), "result": "satisfactory"},
          may_change=EDITORS_CHANGE),
    Route("/api/v1/spot-checks/<int:check_id>/answer", "POST", "api", plan_editor(200), values=B_API_SPOT_CHECK,
          body=lambda w: {"response": "走查答复"}, may_change=PLAN_WRITERS),
    Route("/api/v1/spot-checks/<int:check_id>/close", "POST", "api", officers(200, viewer=403, ent_a=403),
          values=B_API_SPOT_CHECK, may_change=EDITORS_CHANGE),
)

ROUTES: tuple[Route, ...] = (
    # Public.
    Route("/login", "GET", "public", every(302, anonymous=200)),
    Route("/login", "POST", "public", every(302, anonymous=401),
          body=lambda w: {"username": "nobody", "password": "wrong"},
          may_change=frozenset({"anonymous"})),  # counts the failure, also for an unknown name
    Route("/healthz", "GET", "public", every(200, anonymous=200)),
    Route("/lang/<code>", "POST", "public", every(302, anonymous=302), values=lambda w: {"code": "en"}),
    Route("/static/<path:filename>", "GET", "public", every(200, anonymous=200),
          values=lambda w: {"filename": "app.css"}),
    Route("/api/v1/openapi.json", "GET", "public", every(200, anonymous=200)),
    Route("/api/v1/docs", "GET", "public", every(200, anonymous=200)),
    Route("/api/v1/docs/assets/<path:filename>", "GET", "public", every(200, anonymous=200),
          values=lambda w: {"filename": "swagger-ui.css"}),
    Route("/api/v1/auth/token", "POST", "public", every(201, anonymous=201),
          body=lambda w: {"username": "ent-a", "password": PASSWORD, "name": "walk"},
          may_change=frozenset(ROLES)),
    # Pages for everyone logged in.
    Route("/", "GET", "page", officers(200, ent_a=302), redirect_to={"ent_a": OWN_DETAIL}),
    Route("/account/password", "GET", "page", every(200)),
    Route("/account/password", "POST", "page", every(200),
          body=lambda w: {"current_password": "not-the-password", "new_password": "Another-pass-99",
                          "confirm_password": "Another-pass-99"}),
    Route("/account/tokens", "GET", "page", every(200)),
    Route("/account/tokens/<int:token_id>/revoke", "POST", "page",
          {"admin": 302, "officer": 404, "viewer": 404, "ent_a": 404}, values=B_TOKEN,
          may_change=frozenset({"admin"})),
    Route("/audit", "GET", "page", every(200)),
    Route("/logout", "POST", "page", every(302), last=True,
          redirect_to={role: (lambda w: "/login") for role in LOGGED_IN},
          may_change=frozenset(LOGGED_IN)),  # ends the session on the server
    # Administration.
    Route("/admin/users", "GET", "page", admin_only(200)),
    Route("/admin/users/new", "GET", "page", admin_only(200)),
    Route("/admin/users/new", "POST", "page", admin_only(200),
          body=lambda w: {"username": "intruder", "display_name": "x", "role": "enterprise",
                          "enterprise_id": ""}),
    Route("/admin/users/<int:user_id>", "GET", "page", admin_only(200), values=B_USER),
    Route("/admin/users/<int:user_id>", "POST", "page", admin_only(302), values=B_USER,
          body=lambda w: {"username": "ent-b", "display_name": "被改的名字", "role": "enterprise",
                          "enterprise_id": w.own.id},
          may_change=frozenset({"admin"})),
    Route("/admin/users/<int:user_id>/active", "POST", "page", admin_only(302), values=B_USER,
          body=lambda w: {"active": "0"}, may_change=frozenset({"admin"})),
    Route("/admin/users/<int:user_id>/reset-password", "POST", "page", admin_only(302), values=B_USER,
          may_change=frozenset({"admin"})),
    Route("/admin/users/<int:user_id>/end-sessions", "POST", "page", admin_only(302), values=B_USER,
          may_change=frozenset({"admin"})),
    # The register.
    Route("/enterprises", "GET", "page", officers(200, ent_a=302), redirect_to={"ent_a": OWN_DETAIL}),
    Route("/enterprises/<int:enterprise_id>", "GET", "page", officers(200, ent_a=404), values=B_ENTERPRISE),
    Route("/enterprises/<int:enterprise_id>/edit", "GET", "page", officers(200, viewer=403, ent_a=404),
          values=B_ENTERPRISE),
    Route("/enterprises/<int:enterprise_id>/edit", "POST", "page", officers(302, viewer=403, ent_a=404),
          values=B_ENTERPRISE,
          body=lambda w: {**enterprise_body(w), "name": w.other.name, "credit_code": w.other.credit_code,
                          "address": "被篡改的地址", "principal_name": "冒充者"},
          may_change=EDITORS_CHANGE),
    Route("/enterprises/<int:enterprise_id>/active", "POST", "page", officers(302, viewer=403, ent_a=403),
          values=B_ENTERPRISE, body=lambda w: {"active": "0"}, may_change=EDITORS_CHANGE),
    Route("/enterprises/export.xlsx", "GET", "page", every(200)),
    Route("/enterprises/new", "GET", "page", officers(200, viewer=403, ent_a=403)),
    Route("/enterprises/new", "POST", "page", officers(302, viewer=403, ent_a=403), body=enterprise_body,
          may_change=EDITORS_CHANGE),
    Route("/enterprises/import", "GET", "page", officers(200, viewer=403, ent_a=403)),
    Route("/enterprises/import", "POST", "page", officers(422, viewer=403, ent_a=403), body=lambda w: {}),
    Route("/enterprises/import/template.xlsx", "GET", "page", officers(200, viewer=403, ent_a=403)),
    Route("/townships", "GET", "page", officers(200, ent_a=403)),
    Route("/townships", "POST", "page", officers(302, viewer=403, ent_a=403),
          body=lambda w: {"name": "新设街道"}, may_change=EDITORS_CHANGE),
    Route("/townships/<int:township_id>", "GET", "page", officers(200, viewer=403, ent_a=403), values=TOWNSHIP),
    Route("/townships/<int:township_id>", "POST", "page", officers(302, viewer=403, ent_a=403),
          values=TOWNSHIP, body=lambda w: {"name": "改名镇", "code": ""}, may_change=EDITORS_CHANGE),
    # API.
    Route("/api/v1/auth/token", "DELETE", "api", every(204), may_change=frozenset(LOGGED_IN), last=True),
    Route("/api/v1/auth/tokens", "GET", "api", every(200)),
    Route("/api/v1/auth/tokens/<int:token_id>", "DELETE", "api", every(404), values=B_TOKEN),
    Route("/api/v1/audit", "GET", "api", every(200)),
    Route("/api/v1/enterprises", "GET", "api", every(200)),
    Route("/api/v1/enterprises", "POST", "api", officers(201, viewer=403, ent_a=403),
          body=lambda w: {**enterprise_body(w), "name": "丁接口新建有限公司", "credit_code": w.api_credit_code},
          may_change=EDITORS_CHANGE),
    Route("/api/v1/enterprises/<int:enterprise_id>", "GET", "api", officers(200, ent_a=404),
          values=B_ENTERPRISE),
    Route("/api/v1/enterprises/<int:enterprise_id>", "PATCH", "api", officers(200, viewer=403, ent_a=404),
          values=B_ENTERPRISE, body=lambda w: {"address": "被篡改的地址", "principal_name": "冒充者"},
          may_change=EDITORS_CHANGE),
    Route("/api/v1/industries", "GET", "api", every(200)),
    Route("/api/v1/townships", "GET", "api", every(200)),
    # Messaging pages: contacts.
    Route("/messaging/contacts", "GET", "page", every(200)),
    # Plans and filing (B's plan: version 1 published and filed, version 2 a draft).
    Route("/plans", "GET", "page", officers(200, ent_a=302),
          redirect_to={"ent_a": lambda w: f"/enterprises/{w.own.id}/plans"}),
    Route("/enterprises/<int:enterprise_id>/plans", "GET", "page", officers(200, ent_a=404), values=B_ENTERPRISE),
    Route("/enterprises/<int:enterprise_id>/plans/new", "GET", "page", plan_editor(200), values=B_ENTERPRISE),
    Route("/enterprises/<int:enterprise_id>/plans/new", "POST", "page", plan_editor(302), values=B_ENTERPRISE,
          body=lambda w: {"kind": "special", "title": "走查专项预案"}, may_change=PLAN_WRITERS),
    Route("/plans/<int:plan_id>", "GET", "page", officers(200, ent_a=404), values=B_PLAN),
    Route("/plans/<int:plan_id>/revise", "POST", "page", plan_editor(302), values=B_PLAN,
          body=lambda w: {"revision_trigger": "other", "revision_note": "走查"}),
    Route("/plans/<int:plan_id>/evaluations", "POST", "page", plan_editor(302), values=B_PLAN,
          body=lambda w: {"evaluated_on": "2026-11-20", "conclusion": "no_change"}, may_change=PLAN_WRITERS),
    Route("/plans/<int:plan_id>/compare", "GET", "page", officers(200, ent_a=404), values=B_PLAN),
    Route("/plans/<int:plan_id>/versions/<int:number>", "GET", "page", officers(200, ent_a=404), values=B_DRAFT),
    Route("/plans/<int:plan_id>/versions/<int:number>", "POST", "page", plan_editor(302), values=B_DRAFT,
          body=lambda w: {"title": B_PLAN_TITLE, "accident_types": "火灾、走查"}, may_change=PLAN_WRITERS),
    Route("/plans/<int:plan_id>/versions/<int:number>/sections/new", "GET", "page", plan_editor(200),
          values=B_DRAFT),
    Route("/plans/<int:plan_id>/versions/<int:number>/sections/new", "POST", "page", plan_editor(302),
          values=B_DRAFT, body=lambda w: {"title": "走查章节", "level": "1", "body": "<p>走查</p>"},
          may_change=PLAN_WRITERS),
    Route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>", "GET", "page",
          plan_editor(200), values=B_SECTION),
    Route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>", "POST", "page",
          plan_editor(302), values=B_SECTION, body=lambda w: {"title": "总则", "level": "1", "body": "<p>改</p>"},
          may_change=PLAN_WRITERS),
    Route("/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>/<action>", "POST", "page",
          plan_editor(302), values=lambda w: {**B_SECTION(w), "action": "down"}, may_change=PLAN_WRITERS),
    Route("/plans/<int:plan_id>/versions/<int:number>/import", "GET", "page", plan_editor(200), values=B_DRAFT),
    Route("/plans/<int:plan_id>/versions/<int:number>/import", "POST", "page", plan_editor(422), values=B_DRAFT,
          body=lambda w: {}),
    Route("/plans/<int:plan_id>/versions/<int:number>/import/<int:job_id>", "GET", "page", plan_editor(200),
          values=B_IMPORT_JOB),
    # The job still waits for the worker: there is nothing to save yet.
    Route("/plans/<int:plan_id>/versions/<int:number>/import/<int:job_id>", "POST", "page", plan_editor(422),
          values=B_IMPORT_JOB, body=lambda w: {}),
    Route("/plans/<int:plan_id>/versions/<int:number>/review", "POST", "page", plan_editor(302), values=B_DRAFT,
          body=lambda w: {"held_on": "2026-11-20", "conclusion": "pass"}),
    Route("/plans/<int:plan_id>/versions/<int:number>/attachments", "POST", "page", plan_editor(302),
          values=B_DRAFT, body=lambda w: {"kind": "other"}),
    Route("/plans/<int:plan_id>/versions/<int:number>/publish", "POST", "page", plan_editor(302),
          values=B_DRAFT, body=lambda w: {"principal_name": ""}),
    Route("/plans/<int:plan_id>/versions/<int:number>/plan.pdf", "GET", "page", officers(200, ent_a=404),
          values=B_PUBLISHED),
    Route("/plans/<int:plan_id>/versions/<int:number>/card.pdf", "GET", "page", officers(404, ent_a=404),
          values=B_PUBLISHED),
    Route("/attachments/<int:attachment_id>", "GET", "page", officers(200, ent_a=404), values=B_ATTACHMENT),
    Route("/attachments/<int:attachment_id>/delete", "POST", "page", plan_editor(302), values=B_ATTACHMENT),
    Route("/filings", "GET", "page", every(200)),
    Route("/filings/<int:filing_id>", "GET", "page", officers(200, ent_a=404), values=B_FILING),
    Route("/filings/<int:filing_id>/submit", "POST", "page", plan_editor(302), values=B_FILING),
    Route("/filings/<int:filing_id>/accept", "POST", "page", officers(302, viewer=403, ent_a=403), values=B_FILING),
    Route("/filings/<int:filing_id>/return", "POST", "page", officers(302, viewer=403, ent_a=403), values=B_FILING,
          body=lambda w: {"items": ["plan_text"]}),
    Route("/filings/<int:filing_id>/form.pdf", "GET", "page", officers(200, ent_a=404), values=B_FILING),
    Route("/messaging/contacts/export.xlsx", "GET", "page", every(200)),
    Route("/messaging/contacts/import", "GET", "page", officers(200, viewer=403, ent_a=200)),
    Route("/messaging/contacts/import", "POST", "page", officers(422, viewer=403, ent_a=422), body=lambda w: {}),
    Route("/messaging/contacts/import/template.xlsx", "GET", "page", officers(200, viewer=403, ent_a=200)),
    Route("/messaging/contacts/new", "GET", "page", officers(200, viewer=403, ent_a=200)),
    Route("/messaging/contacts/new", "POST", "page", officers(302, viewer=403, ent_a=302), body=contact_form,
          may_change=CONTACT_KEEPERS, redirect_to={r: (lambda w: "/messaging/contacts") for r in CONTACT_KEEPERS}),
    Route("/messaging/contacts/<int:contact_id>", "GET", "page", officers(200, ent_a=404), values=B_CONTACT),
    Route("/messaging/contacts/<int:contact_id>", "POST", "page", officers(302, viewer=403, ent_a=404),
          values=B_CONTACT,
          body=lambda w: {"name": B_CONTACT_NAME, "mobile": ATTACKER_MOBILE, "org_kind": "enterprise",
                          "enterprise_id": w.other.id, "roles": ["staff"], "active": "1"},
          may_change=EDITORS_CHANGE),
    Route("/messaging/contacts/<int:contact_id>/opt-out", "POST", "page", officers(302, viewer=403, ent_a=403),
          values=B_CONTACT, body=lambda w: {"opt_out": "1", "reason": "走查"}, may_change=EDITORS_CHANGE),
    # Groups.
    Route("/messaging/groups", "GET", "page", every(200)),
    Route("/messaging/groups/new", "GET", "page", officers(200, viewer=403, ent_a=403)),
    Route("/messaging/groups/new", "POST", "page", officers(302, viewer=403, ent_a=403),
          body=lambda w: {"name": "走查高风险群", "kind": "filter", "high_risk": "1"}, may_change=EDITORS_CHANGE),
    Route("/messaging/groups/<int:group_id>", "GET", "page", officers(200, viewer=403, ent_a=403), values=B_GROUP),
    Route("/messaging/groups/<int:group_id>", "POST", "page", officers(302, viewer=403, ent_a=403),
          values=B_GROUP, body=lambda w: {"name": "被篡改的群组", "kind": "filter", "roles": ["principal"]},
          may_change=EDITORS_CHANGE),
    # Campaigns.
    Route("/messaging/campaigns", "GET", "page", every(200)),
    Route("/messaging/campaigns/new", "GET", "page", officers(200, viewer=403, ent_a=403)),
    Route("/messaging/campaigns/new", "POST", "page", officers(302, viewer=403, ent_a=403), body=campaign_form,
          may_change=EDITORS_CHANGE),
    Route("/messaging/campaigns/preview", "POST", "page", officers(200, viewer=403, ent_a=403),
          body=campaign_form),
    Route("/messaging/campaigns/<int:campaign_id>", "GET", "page", officers(200, ent_a=404), values=B_CAMPAIGN),
    Route("/messaging/campaigns/<int:campaign_id>/status.json", "GET", "page", officers(200, ent_a=404),
          values=B_CAMPAIGN),
    Route("/messaging/campaigns/<int:campaign_id>/<action>", "POST", "page", officers(302, viewer=403, ent_a=403),
          values=lambda w: {**B_CAMPAIGN(w), "action": "resend"}, may_change=EDITORS_CHANGE),
    # Replies and settings.
    Route("/messaging/replies", "GET", "page", officers(200, ent_a=403)),
    Route("/messaging/settings", "GET", "page", admin_only(200)),
    Route("/messaging/settings", "POST", "page", admin_only(302),
          body=lambda w: {"quiet_hours": "23:00-06:00", "two_person_approval": "0"},
          may_change=frozenset({"admin"})),
    # Messaging API.
    Route("/api/v1/contacts", "GET", "api", every(200)),
    Route("/api/v1/contacts", "POST", "api", officers(201, viewer=403, ent_a=201),
          body=lambda w: {"name": "接口新联系人", "mobile": "13700000002", "org_kind": "enterprise",
                          "enterprise_id": w.other.id},
          may_change=CONTACT_KEEPERS),
    Route("/api/v1/contacts/<int:contact_id>", "GET", "api", officers(200, ent_a=404), values=B_CONTACT),
    Route("/api/v1/contacts/<int:contact_id>", "PATCH", "api", officers(200, viewer=403, ent_a=404),
          values=B_CONTACT, body=lambda w: {"mobile": ATTACKER_MOBILE, "note": "被篡改"}, may_change=EDITORS_CHANGE),
    Route("/api/v1/groups", "GET", "api", every(200)),
    Route("/api/v1/groups", "POST", "api", officers(201, viewer=403, ent_a=403),
          body=lambda w: {"name": "接口新群组", "kind": "static", "member_ids": [w.other_contact_id]},
          may_change=EDITORS_CHANGE),
    Route("/api/v1/groups/<int:group_id>", "GET", "api", officers(200, ent_a=404), values=B_GROUP),
    Route("/api/v1/groups/<int:group_id>", "PUT", "api", officers(200, viewer=403, ent_a=403), values=B_GROUP,
          body=lambda w: {"name": "被篡改的群组", "kind": "filter", "criteria": {"roles": ["principal"]}},
          may_change=EDITORS_CHANGE),
    Route("/api/v1/campaigns", "GET", "api", every(200)),
    Route("/api/v1/campaigns", "POST", "api", officers(201, viewer=403, ent_a=403),
          body=lambda w: {**campaign_form(w), "title": "接口预警"}, may_change=EDITORS_CHANGE),
    Route("/api/v1/campaigns/preview", "POST", "api", officers(200, viewer=403, ent_a=403), body=campaign_form),
    Route("/api/v1/campaigns/<int:campaign_id>", "GET", "api", officers(200, ent_a=404), values=B_CAMPAIGN),
    Route("/api/v1/campaigns/<int:campaign_id>/deliveries", "GET", "api", officers(200, ent_a=404),
          values=B_CAMPAIGN),
    # B's campaign has been sent: approving or cancelling it is refused for everybody.
    Route("/api/v1/campaigns/<int:campaign_id>/approve", "POST", "api", officers(422, viewer=403, ent_a=403),
          values=B_CAMPAIGN),
    Route("/api/v1/campaigns/<int:campaign_id>/cancel", "POST", "api", officers(422, viewer=403, ent_a=403),
          values=B_CAMPAIGN),
    Route("/api/v1/campaigns/<int:campaign_id>/resend", "POST", "api", officers(201, viewer=403, ent_a=403),
          values=B_CAMPAIGN, may_change=EDITORS_CHANGE),
    # The working-day calendar: officers see it, the admin keeps it.
    Route("/admin/calendar", "GET", "page", officers(200, ent_a=403)),
    Route("/admin/calendar/days", "POST", "page", admin_only(302),
          body=lambda w: {"date": "2027-09-14", "end": "2027-09-15", "kind": "holiday", "name": "中秋节"},
          may_change=ADMIN_CHANGES),
    Route("/admin/calendar/notice", "POST", "page", admin_only(302),
          body=lambda w: {"lines": "2027-05-01 2027-05-05 劳动节 holiday\n2027-06-14 端午节 放假"},
          may_change=ADMIN_CHANGES),
    Route("/admin/calendar/days/<int:day_id>", "GET", "page", admin_only(200), values=CALENDAR_DAY),
    Route("/admin/calendar/days/<int:day_id>", "POST", "page", admin_only(302), values=CALENDAR_DAY,
          body=lambda w: {"kind": "holiday", "name": "国庆节假期"}, may_change=ADMIN_CHANGES),
    Route("/admin/calendar/days/<int:day_id>/delete", "POST", "page", admin_only(302), values=CALENDAR_DAY,
          may_change=ADMIN_CHANGES),
    Route("/api/v1/calendar/holidays", "GET", "api", every(200)),
    Route("/api/v1/calendar/holidays", "POST", "api", admin_only(201),
          body=lambda w: {"date": "2027-09-16", "kind": "holiday", "name": "中秋节"}, may_change=ADMIN_CHANGES),
    Route("/api/v1/calendar/holidays/<day>", "DELETE", "api", admin_only(204),
          values=lambda w: {"day": "2027-10-02"}, may_change=ADMIN_CHANGES),
    # Marking a year's notice complete (after the entries above) and reopening it: the admin's.
    Route("/admin/calendar/years/<int:year>/complete", "POST", "page", admin_only(302),
          values=lambda w: {"year": 2027}, may_change=ADMIN_CHANGES),
    Route("/admin/calendar/years/<int:year>/reopen", "POST", "page", admin_only(302),
          values=lambda w: {"year": 2027}, may_change=ADMIN_CHANGES),
    Route("/api/v1/calendar/years/<int:year>/complete", "POST", "api", admin_only(200),
          values=lambda w: {"year": 2027}, may_change=ADMIN_CHANGES),
    Route("/api/v1/calendar/years/<int:year>/complete", "DELETE", "api", admin_only(200),
          values=lambda w: {"year": 2027}, may_change=ADMIN_CHANGES),
    # The provider's webhooks: public, but nobody gets past a forged signature.
    Route("/webhooks/twilio/status", "POST", "public", every(403, anonymous=403),
          values=lambda w: {"d": w.other_delivery_id}, headers=FORGED_SIGNATURE,
          body=lambda w: {"MessageSid": w.other_delivery_sid, "MessageStatus": "undelivered",
                          "ErrorCode": "21610", "AccountSid": "AC1"}),
    Route("/webhooks/twilio/inbound", "POST", "public", every(403, anonymous=403), headers=FORGED_SIGNATURE,
          body=lambda w: {"MessageSid": "SMforged", "From": B_CONTACT_MOBILE, "To": "+15005550006",
                          "Body": "TD", "AccountSid": "AC1"}),
    # Plans API.
    Route("/api/v1/plans", "GET", "api", every(200)),
    # An enterprise token's new plan is its own enterprise's, whatever enterprise_id says.
    Route("/api/v1/plans", "POST", "api", officers(201, viewer=403, ent_a=201),
          body=lambda w: {"enterprise_id": w.other.id, "kind": "onsite", "title": "接口新处置方案"},
          may_change=PLAN_WRITERS | {"ent_a"}),
    Route("/api/v1/plans/<int:plan_id>", "GET", "api", officers(200, ent_a=404), values=B_PLAN),
    Route("/api/v1/plans/<int:plan_id>/versions", "GET", "api", officers(200, ent_a=404), values=B_PLAN),
    # B already has a draft: a second revision is refused (422) to those who may revise.
    Route("/api/v1/plans/<int:plan_id>/revisions", "POST", "api", plan_editor(422), values=B_PLAN,
          body=lambda w: {"revision_trigger": "risk_changed"}),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>", "GET", "api", officers(200, ent_a=404),
          values=B_DRAFT),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>", "PATCH", "api", plan_editor(200),
          values=B_DRAFT, body=lambda w: {"accident_types": ["火灾", "被篡改"]}, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/sections", "POST", "api", plan_editor(201),
          values=B_DRAFT, body=lambda w: {"title": "接口章节", "body": "<p>接口</p>"}, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/review", "POST", "api", plan_editor(201),
          values=B_DRAFT, body=API_REVIEW, may_change=PLAN_WRITERS),
    # Signed in the future: refused by the operation (after the enterprise check).
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/publish", "POST", "api", plan_editor(422),
          values=B_DRAFT, body=lambda w: {"principal_name": "乙总", "signed_on": "2099-01-01"}),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/pdf", "GET", "api", officers(200, ent_a=404),
          values=B_PUBLISHED),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>", "PATCH", "api",
          plan_editor(200), values=B_SECTION, body=lambda w: {"body": "<p>接口改</p>"}, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>", "DELETE", "api",
          plan_editor(204), values=B_LAST_SECTION, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/sections/<int:section_id>/move", "POST", "api",
          plan_editor(200), values=B_SECTION, body=lambda w: {"direction": "down"}, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/attachments", "GET", "api",
          officers(200, ent_a=404), values=B_DRAFT),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/attachments", "POST", "api", plan_editor(201),
          values=B_DRAFT, body=api_upload, multipart=True, may_change=PLAN_WRITERS),
    Route("/api/v1/attachments/<int:attachment_id>", "GET", "api", officers(200, ent_a=404), values=B_ATTACHMENT),
    # B's attachment belongs to its published version: never removed.
    Route("/api/v1/attachments/<int:attachment_id>", "DELETE", "api", plan_editor(422), values=B_ATTACHMENT),
    # A preview of a Word import records an import job (the file and the sections found), never
    # a change to the plan.
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/import", "POST", "api", plan_editor(200),
          values=B_DRAFT, body=api_word_preview, multipart=True, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/imports/<int:job_id>", "GET", "api",
          plan_editor(200), values=B_IMPORT_JOB),
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/imports/<int:job_id>/confirm", "POST", "api",
          plan_editor(422), values=B_IMPORT_JOB),
    Route("/api/v1/plans/<int:plan_id>/evaluations", "GET", "api", officers(200, ent_a=404), values=B_PLAN),
    Route("/api/v1/plans/<int:plan_id>/evaluations", "POST", "api", plan_editor(201), values=B_PLAN,
          body=lambda w: {"evaluated_on": "2026-11-20", "conclusion": "no_change"}, may_change=PLAN_WRITERS),
    Route("/api/v1/plans/<int:plan_id>/compare", "GET", "api", officers(200, ent_a=404), values=B_PLAN),
    # B's plan is a comprehensive plan: it has no emergency card.
    Route("/api/v1/plans/<int:plan_id>/versions/<int:number>/card.pdf", "GET", "api", officers(404, ent_a=404),
          values=B_PUBLISHED),
    Route("/api/v1/filings", "GET", "api", every(200)),
    Route("/api/v1/filings/<int:filing_id>", "GET", "api", officers(200, ent_a=404), values=B_FILING),
    # B's filing is accepted already: submitting, accepting or returning it again is refused.
    Route("/api/v1/filings/<int:filing_id>/submit", "POST", "api", plan_editor(422), values=B_FILING,
          body=lambda w: {}),
    Route("/api/v1/filings/<int:filing_id>/accept", "POST", "api", officers(422, viewer=403, ent_a=403),
          values=B_FILING),
    Route("/api/v1/filings/<int:filing_id>/return", "POST", "api", officers(422, viewer=403, ent_a=403),
          values=B_FILING, body=lambda w: {"items": ["plan_text"]}),
    Route("/api/v1/filings/<int:filing_id>/form.pdf", "GET", "api", officers(200, ent_a=404),
          values=B_FILING),
    # Plans dashboard
    Route("/dashboard/plans", "GET", "page", officers(200, ent_a=403)),
    # Drill cycles and occurrences (B's weekly cycle, its spare cycle and occurrences).
    Route("/drill-cycles", "GET", "page", every(200)),
    Route("/enterprises/<int:enterprise_id>/drill-cycles/new", "GET", "page", plan_editor(200), values=B_ENTERPRISE),
    Route("/enterprises/<int:enterprise_id>/drill-cycles/new", "POST", "page", plan_editor(302),
          values=B_ENTERPRISE, body=cycle_form, may_change=PLAN_WRITERS),
    Route("/drill-cycles/<int:cycle_id>", "GET", "page", officers(200, ent_a=404), values=B_CYCLE),
    Route("/drill-cycles/<int:cycle_id>/edit", "GET", "page", plan_editor(200), values=B_CYCLE),
    Route("/drill-cycles/<int:cycle_id>/edit", "POST", "page", plan_editor(302), values=B_CYCLE,
          body=lambda w: {"name": B_CYCLE_NAME, "preset": "weekly_small", "start_time": "10:00",
                          "starts_on": datetime.date.today().isoformat()}, may_change=PLAN_WRITERS),
    Route("/drill-cycles/<int:cycle_id>/stop", "POST", "page", plan_editor(302), values=B_SPARE_CYCLE,
          may_change=PLAN_WRITERS),
    Route("/occurrences", "GET", "page", every(200)),
    Route("/occurrences/<int:occurrence_id>/excuse", "POST", "page", plan_editor(302), values=B_OCCURRENCE,
          body=lambda w: {"reason": "走查豁免"}, may_change=PLAN_WRITERS),
    Route("/api/v1/drill-cycles", "GET", "api", every(200)),
    Route("/api/v1/drill-cycles", "POST", "api", officers(201, viewer=403, ent_a=201),
          body=lambda w: {**cycle_form(w), "enterprise_id": w.other.id}, may_change=DRILL_KEEPERS),
    Route("/api/v1/drill-cycles/<int:cycle_id>", "GET", "api", officers(200, ent_a=404), values=B_CYCLE),
    Route("/api/v1/drill-cycles/<int:cycle_id>", "PATCH", "api", plan_editor(200), values=B_CYCLE,
          body=lambda w: {"lead_days": 2}, may_change=PLAN_WRITERS),
    Route("/api/v1/drill-cycles/<int:cycle_id>", "DELETE", "api", plan_editor(200), values=B_SPARE_CYCLE,
          may_change=PLAN_WRITERS),
    Route("/api/v1/occurrences", "GET", "api", every(200)),
    Route("/api/v1/occurrences/<int:occurrence_id>", "GET", "api", officers(200, ent_a=404), values=B_OCCURRENCE),
    Route("/api/v1/occurrences/<int:occurrence_id>/excuse", "POST", "api", plan_editor(200),
          values=B_OTHER_OCCURRENCE, body=lambda w: {"reason": "走查"}, may_change=PLAN_WRITERS),
    # Drill calendar: A asking for B's enterprise still sees only its own.
    Route("/drills/calendar", "GET", "page", every(200), values=B_ENTERPRISE),
    Route("/drills/calendar/week", "GET", "page", every(200), values=B_ENTERPRISE),
    Route("/drills/feeds", "GET", "page", every(200)),
    # A feed naming B: an enterprise user's feed is its own enterprise's regardless.
    Route("/drills/feeds", "POST", "page", officers(200, viewer=403, ent_a=200), body=B_ENTERPRISE,
          may_change=FEED_KEEPERS),
    Route("/drills/feeds/<int:feed_id>/revoke", "POST", "page", officers(302, viewer=403, ent_a=404),
          values=B_FEED, may_change=EDITORS_CHANGE),
    # Public: the token is the credential; B's revoked feed is gone for everybody.
    Route("/feeds/drills/<token>.ics", "GET", "public", every(404, anonymous=404), values=REVOKED_FEED),
    Route("/api/v1/calendar-feeds/<token>.ics", "GET", "public", every(404, anonymous=404), values=REVOKED_FEED),
    Route("/api/v1/calendar-feeds", "GET", "api", every(200)),
    Route("/api/v1/calendar-feeds", "POST", "api", officers(201, viewer=403, ent_a=201), body=B_ENTERPRISE,
          may_change=FEED_KEEPERS),
    Route("/api/v1/calendar-feeds/<int:feed_id>", "DELETE", "api", officers(204, viewer=403, ent_a=404),
          values=B_FEED, may_change=EDITORS_CHANGE),
    *DRILL_RECORD_ROUTES,
    # Drill compliance dashboard: it compares enterprises, so enterprise users are refused.
    Route("/dashboard/drills", "GET", "page", officers(200, ent_a=403)),
    Route("/dashboard/drills/overdue", "GET", "page", officers(200, ent_a=403)),
    Route("/dashboard/drills/rates.xlsx", "GET", "page", officers(200, ent_a=403)),
    Route("/dashboard/drills/overdue.xlsx", "GET", "page", officers(200, ent_a=403)),
    Route("/dashboard/drills/heatmap.xlsx", "GET", "page", officers(200, ent_a=403)),
)

#: The public routes, stated once more on their own so that a change is a deliberate one.
PUBLIC = {
    ("/login", "GET"), ("/login", "POST"), ("/healthz", "GET"), ("/lang/<code>", "POST"),
    ("/api/v1/openapi.json", "GET"), ("/api/v1/docs", "GET"), ("/api/v1/docs/assets/<path:filename>", "GET"),
    ("/static/<path:filename>", "GET"), ("/api/v1/auth/token", "POST"),
    ("/webhooks/twilio/status", "POST"), ("/webhooks/twilio/inbound", "POST"),
    ("/feeds/drills/<token>.ics", "GET"), ("/api/v1/calendar-feeds/<token>.ics", "GET"),
}


def url_map_routes(app) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(app):
    known = [(route.rule, route.method) for route in ROUTES]
    assert len(known) == len(set(known)), "a route is listed twice"
    actual = url_map_routes(app)
    assert actual - set(known) == set(), "new routes: add them to ROUTES with their expectations"
    assert set(known) - actual == set(), "routes gone: remove them from ROUTES"
    assert {(r.rule, r.method) for r in ROUTES if r.access == "public"} == PUBLIC
    for route in ROUTES:
        assert set(route.expect) == set(LOGGED_IN) | ({"anonymous"} if route.access == "public" else set()), route
        if (route.rule, route.method) not in PUBLIC:
            assert (route.access == "api") == route.rule.startswith("/api/"), route


def test_table_refuses_viewer_every_change_to_the_register():
    """The viewer's column of the table: every change that is not the viewer's own account is refused."""
    own_account = {("/account/password", "POST"), ("/logout", "POST"), ("/lang/<code>", "POST"),
                   ("/login", "POST"), ("/api/v1/auth/token", "POST"), ("/api/v1/auth/token", "DELETE")}
    for route in ROUTES:
        if route.method != "GET" and (route.rule, route.method) not in own_account:
            assert route.expect["viewer"] in (403, 404), route
            assert "viewer" not in route.may_change, route


# --- the walk -----------------------------------------------------------------------------

def database_state() -> dict[str, list[tuple]]:
    state = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.c if (table.name, c.name) not in NOT_STATE]
        rows = db.session.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
        state[table.name] = [tuple(row) for row in rows]
    return state


def changed_tables(before: dict, after: dict) -> dict[str, tuple]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


def response_text(response) -> str:
    """The readable content of a page, JSON document or workbook ('' for other files)."""
    if not response.data:
        return ""
    if response.mimetype and response.mimetype.endswith("json"):
        return json.dumps(response.get_json(), ensure_ascii=False)
    if response.mimetype and "spreadsheetml" in response.mimetype:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)
    if response.mimetype == "text/html":
        return response.get_data(as_text=True)
    return ""  # stylesheets, scripts: the same for everybody


def leaks(text: str, world: World) -> list[str]:
    found = [secret for secret in world.secrets_of_b() if secret != "ent-b" and secret in text]
    if re.search(r"(?<![\w-])ent-b(?![\w-])", text):
        found.append("ent-b")
    return found


def send(world: World, route: Route, role: str):

    url = url_for_rule(route, world)
    body = route.body(world) if route.body else None
    extra = route.headers(world) if route.headers else {}
    if route.access == "api" or route.rule.startswith("/api/"):
        client = world.clients["anonymous"]
        headers = world.tokens.get(role, {}) if role != "anonymous" else {}
        if route.multipart:
            return client.open(url, method=route.method, headers={**headers, **extra}, data=body,
                               content_type="multipart/form-data")
        return client.open(url, method=route.method, headers={**headers, **extra},
                           json=body if route.method != "GET" else None)
    client = world.clients[role]
    return client.open(url, method=route.method, data=body or {}, headers=extra)


def url_for_rule(route: Route, world: World) -> str:
    from flask import current_app

    rule = next(r for r in current_app.url_map.iter_rules()
                if r.rule == route.rule and route.method in r.methods)
    adapter = current_app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, route.values(world), method=route.method)


def expected_status(route: Route, role: str) -> int:
    if role == "anonymous" and route.access != "public":
        return 401 if route.access == "api" else 302
    return route.expect[role]


@pytest.mark.parametrize("role", ROLES)
def test_walk_every_route(app, world, role):
    ordered = [r for r in ROUTES if not r.last] + [r for r in ROUTES if r.last]
    saw_b = False
    reached = 0
    for route in ordered:
        before = database_state()
        response = send(world, route, role)
        label = f"{role} {route.method} {route.rule}"
        expected = expected_status(route, role)
        assert response.status_code == expected, f"{label}: {response.status_code}, wanted {expected}\n" \
                                                  f"{response.get_data(as_text=True)[:600]}"
        if 200 <= response.status_code < 300:
            reached += 1
        location = response.headers.get("Location", "")
        if role == "anonymous" and route.access == "page":
            assert location.startswith("/login"), label
        if role == "anonymous" and route.access == "api":
            assert response.mimetype == "application/problem+json", label
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), label
        if role in route.redirect_to:
            assert location == route.redirect_to[role](world), label

        text = response_text(response)
        if role == "ent_a":
            assert not leaks(text, world), f"{label} shows enterprise B's {leaks(text, world)}"
            assert f"/enterprises/{world.other.id}" not in location, label
        elif leaks(text, world):
            saw_b = True

        if role not in route.may_change:
            db.session.expire_all()
            changes = changed_tables(before, database_state())
            assert not changes, f"{label} changed {changes}"
    if role in ("admin", "officer", "viewer"):
        assert saw_b, "officers never saw enterprise B: the leak check would prove nothing"
    if role != "anonymous":
        assert reached >= 8


# --- enterprise A: its own records work, B's never appear --------------------------------

def test_enterprise_user_reaches_own_records(world):
    browser, headers = world.clients["ent_a"], world.tokens["ent_a"]
    own = world.own.id
    page = browser.get(f"/enterprises/{own}")
    assert page.status_code == 200 and world.own.name in page.get_data(as_text=True)
    assert browser.get(f"/enterprises/{own}/edit").status_code == 200
    # The form as the browser sends it: the self-service fields, one of them changed.
    form = {name: getattr(world.own, name) or "" for name in ENTERPRISE_SELF_SERVICE_FIELDS}
    response = browser.post(f"/enterprises/{own}/edit", data={**form, "address": "甲化工新厂区2号"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    # Fields outside self-service are ignored, not applied, even when sent.
    ignored = browser.post(f"/enterprises/{own}/edit", data={
        **form, "address": "甲化工新厂区2号", "name": "改名公司", "industry": "hotel"})
    assert ignored.status_code == 302
    db.session.expire_all()
    assert db.session.get(Enterprise, own).address == "甲化工新厂区2号"
    assert db.session.get(Enterprise, own).name == world.own.name
    assert db.session.get(Enterprise, own).industry == "hazardous_chemicals"

    api = world.clients["anonymous"]
    assert api.get(f"/api/v1/enterprises/{own}", headers=headers).get_json()["id"] == own
    patched = api.patch(f"/api/v1/enterprises/{own}", headers=headers, json={"principal_name": "钱七"})
    assert patched.status_code == 200 and patched.get_json()["principal_name"] == "钱七"
    # Only contacts and location: the name is the bureau's.
    refused = api.patch(f"/api/v1/enterprises/{own}", headers=headers, json={"name": "改名公司"})
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Enterprise, own).name == world.own.name


def test_enterprise_user_lists_only_own(world):
    api, headers = world.clients["anonymous"], world.tokens["ent_a"]
    b = world.other

    for query in ("", "?include_disabled=true", f"?q={b.name}", f"?q={b.credit_code}",
                  f"?township_id={b.township_id}", "?industry=hotel", "?per_page=200"):
        listed = api.get(f"/api/v1/enterprises{query}", headers=headers)
        assert listed.status_code == 200, query
        assert {e["id"] for e in listed.get_json()} <= {world.own.id}, query
    assert [e["id"] for e in api.get("/api/v1/enterprises", headers=headers).get_json()] == [world.own.id]

    # The audit trail: there are entries about B, and A sees none of them.
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.enterprise_id == b.id))
    entries = api.get("/api/v1/audit", headers=headers).get_json()
    assert entries and {e["enterprise_id"] for e in entries} == {world.own.id}
    for query in (f"?enterprise_id={b.id}", "?object_type=api_token", "?actor=ent-b", "?action=update"):
        filtered = api.get(f"/api/v1/audit{query}", headers=headers)
        assert filtered.status_code == 200
        assert all(e["enterprise_id"] == world.own.id for e in filtered.get_json()), query

    browser = world.clients["ent_a"]
    page = browser.get("/audit").get_data(as_text=True)
    assert world.own.name in page and b.name not in page and B_ADDRESS not in page
    assert b.name not in browser.get(f"/audit?enterprise_id={b.id}").get_data(as_text=True)

    tokens = api.get("/api/v1/auth/tokens", headers=headers).get_json()
    assert [t["name"] for t in tokens] == ["ent_a-token"]


def test_officer_sees_both_enterprises(world):
    api, headers = world.clients["anonymous"], world.tokens["viewer"]
    ids = {e["id"] for e in api.get("/api/v1/enterprises", headers=headers).get_json()}
    assert ids == {world.own.id, world.other.id}
    page = world.clients["viewer"].get("/enterprises").get_data(as_text=True)
    assert world.own.name in page and world.other.name in page
    audit = {e["enterprise_id"] for e in api.get("/api/v1/audit", headers=headers).get_json()}
    assert {world.own.id, world.other.id} <= audit


def test_enterprise_user_cannot_change_b_through_its_own_session(world):
    """The same attacks, checked on B's record itself rather than the whole database."""
    b = world.other
    before = (b.name, b.address, b.principal_name, b.active)
    browser, api, headers = world.clients["ent_a"], world.clients["anonymous"], world.tokens["ent_a"]
    assert browser.post(f"/enterprises/{b.id}/edit", data={"address": "x"}).status_code == 404
    assert browser.post(f"/enterprises/{b.id}/active", data={"active": "0"}).status_code == 403
    assert api.patch(f"/api/v1/enterprises/{b.id}", headers=headers, json={"address": "x"}).status_code == 404
    assert api.patch(f"/api/v1/enterprises/{b.id}", headers=headers, json={"name": "x"}).status_code in (404, 422)
    assert api.delete(f"/api/v1/auth/tokens/{world.other_token_id}", headers=headers).status_code == 404
    assert browser.post(f"/account/tokens/{world.other_token_id}/revoke").status_code == 404
    # Creating a user for B, or moving oneself to B, is an admin's job.
    assert browser.post("/admin/users/new", data={"username": "mole", "display_name": "x",
                                                  "role": "enterprise", "enterprise_id": b.id}).status_code == 403
    db.session.expire_all()
    b = db.session.get(Enterprise, b.id)
    assert (b.name, b.address, b.principal_name, b.active) == before
    assert api.get("/api/v1/auth/tokens", headers={"Authorization": "Bearer nonsense"}).status_code == 401


# --- messaging: A's contacts, groups and campaigns are A's, B's never appear ---------------

def test_enterprise_user_messaging_shows_only_own(world, people):
    officer = people["officer"]
    mine = contact_ops.create_contact(officer, {"name": "甲厂值班员周九", "mobile": "+8613722223333",
                                                "org_kind": OrgKind.enterprise, "enterprise_id": world.own.id})
    group = group_ops.create_group(officer, {"name": "甲厂内部群", "kind": "static", "member_ids": [mine.id]},
                                   enterprise_id=world.own.id)
    campaign = campaign_ops.create_campaign(officer, {
        "kind": "notice", "title": "甲厂消防演练通知", "body": "【甲化工】周五消防演练。", "priority": "urgent",
        "group_ids": [group.id]}, enterprise_id=world.own.id)
    db.session.commit()
    browser, api, headers = world.clients["ent_a"], world.clients["anonymous"], world.tokens["ent_a"]

    pages = {"/messaging/contacts": "甲厂值班员周九", f"/messaging/contacts?q={B_CONTACT_NAME}": None,
             "/messaging/contacts?q=137": "甲厂值班员周九", "/messaging/groups": "甲厂内部群",
             "/messaging/campaigns": "甲厂消防演练通知", f"/messaging/campaigns/{campaign.id}": "甲厂消防演练通知",
             f"/messaging/contacts/{mine.id}": "+8613722223333"}
    for url, own_text in pages.items():
        response = browser.get(url)
        text = response.get_data(as_text=True)
        if "?q=" in url:  # the search box and the language switch show the query back: check the results
            text = text[text.index("<tbody>"):]
        assert response.status_code == 200, url
        assert not leaks(text, world), (url, leaks(text, world))
        assert own_text is None or own_text in text, url

    def ids(path: str) -> list[int]:
        response = api.get(path, headers=headers)
        assert response.status_code == 200, path
        assert not leaks(response_text(response), world), path
        return [row["id"] for row in response.get_json()]

    contact_ids = ids("/api/v1/contacts?page_size=500")
    assert mine.id in contact_ids and world.other_contact_id not in contact_ids
    assert {db.session.get(Contact, i).enterprise_id for i in contact_ids} == {world.own.id}
    assert ids("/api/v1/groups") == [group.id]
    assert ids("/api/v1/campaigns") == [campaign.id]
    deliveries = api.get(f"/api/v1/campaigns/{campaign.id}/deliveries", headers=headers).get_json()
    assert [d["phone"] for d in deliveries] == ["+8613722223333"]

    # A contact the enterprise user creates naming B (page or API) is A's.
    assert browser.post("/messaging/contacts/new", data=contact_form(world)).status_code == 302
    created = db.session.scalar(sa.select(Contact).where(Contact.name == "走查新联系人"))
    assert (created.enterprise_id, created.org_kind) == (world.own.id, OrgKind.enterprise)
    # Editing its own contact cannot move it to B either.
    moved = browser.post(f"/messaging/contacts/{mine.id}", data={
        "name": "甲厂值班员周九", "mobile": "+8613722223333", "org_kind": "bureau", "enterprise_id": world.other.id})
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, mine.id).enterprise_id == world.own.id

    # The officers' lists do hold B's records, so the checks above are not vacuous.
    viewer, viewer_headers = world.clients["viewer"], world.tokens["viewer"]
    assert B_CONTACT_NAME in viewer.get("/messaging/contacts").get_data(as_text=True)
    assert B_GROUP_NAME in viewer.get("/messaging/groups").get_data(as_text=True)
    assert B_CAMPAIGN_TITLE in viewer.get("/messaging/campaigns").get_data(as_text=True)
    listed = api.get("/api/v1/contacts?page_size=500", headers=viewer_headers).get_json()
    assert world.other_contact_id in {c["id"] for c in listed}


def test_forged_webhooks_change_nothing_about_b(world):
    """The walk's webhook requests, checked on B's delivery and phone themselves."""
    anonymous = world.clients["anonymous"]
    status = {"MessageSid": world.other_delivery_sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
    reply = {"MessageSid": "SMnosig", "From": B_CONTACT_MOBILE, "Body": "TD"}
    for headers in ({}, {"X-Twilio-Signature": ""}, FORGED_SIGNATURE(world)):
        assert anonymous.post(f"/webhooks/twilio/status?d={world.other_delivery_id}", data=status,
                              headers=headers).status_code == 403
        assert anonymous.post("/webhooks/twilio/inbound", data=reply, headers=headers).status_code == 403
    db.session.expire_all()
    assert db.session.get(OptOut, B_CONTACT_MOBILE) is None
    assert db.session.get(Delivery, world.other_delivery_id).error_code == "30003"
