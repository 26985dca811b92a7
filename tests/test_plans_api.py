"""The plans and filing API: create, write, publish, file, decide; isolation, roles, problems, OpenAPI."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.core.timeutil import local_today
from plans.filing.models import Filing
from plans.plan import operations as plan_ops
from plans.plan.models import Plan, PlanVersion

from .conftest import drill_of

PROBLEM = "application/problem+json"
EN = {"Accept-Language": "en"}
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def auth(people, token_for) -> dict[str, dict[str, str]]:
    """Tokens (English messages): B is the small hotel (no expert review, files its plans)."""
    return {name: {**token_for(username), **EN} for name, username in
            (("officer", "duty"), ("viewer", "viewer"), ("admin", "admin"), ("ent_a", "ent-a"), ("ent_b", "ent-b"))}


def problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    return body


def errors_by_field(body: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in body["errors"]:
        assert set(error) == {"field", "pointer", "detail"}
        found.setdefault(error["field"], []).append(error["detail"])
    return found


def create_plan(client, headers, **body) -> dict[str, Any]:
    response = client.post("/api/v1/plans", headers=headers,
                           json={"kind": "comprehensive", "title": "乙酒店生产安全事故综合应急预案", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def publish_first(client, headers, plan_id: int) -> dict[str, Any]:
    section = client.post(f"/api/v1/plans/{plan_id}/versions/1/sections", headers=headers,
                          json={"title": "应急处置", "body": "<p>楼层服务员引导疏散</p><script>alert(1)</script>"})
    assert section.status_code == 201, section.get_json()
    drill_of(db.session.get(Plan, plan_id).versions[0])
    published = client.post(f"/api/v1/plans/{plan_id}/versions/1/publish", headers=headers,
                            json={"principal_name": "乙总", "signed_on": local_today().isoformat()})
    assert published.status_code == 200, published.get_json()
    return published.get_json()


def filing_of(client, headers, plan_id: int) -> dict[str, Any]:
    listed = client.get("/api/v1/filings", headers=headers)
    assert listed.status_code == 200
    found = [f for f in listed.get_json() if f["plan_id"] == plan_id]
    assert len(found) == 1, listed.get_json()
    return found[0]


def attach_materials(plan_id: int, user) -> None:
    version = db.session.scalar(sa.select(PlanVersion).where(PlanVersion.plan_id == plan_id,
                                                             PlanVersion.number == 1))
    plan_ops.add_attachment(user, version, "risk_assessment", "风险评估.pdf", PDF_BYTES)
    plan_ops.add_attachment(user, version, "resource_survey", "资源调查.pdf", PDF_BYTES)
    db.session.commit()


# --- the whole way: create, write, publish, file, accept --------------------------------------

def test_create_write_publish_file_and_accept(client, auth, people):
    ent_b = auth["ent_b"]
    # An enterprise token creates its own enterprise's plan, whatever enterprise_id says.
    plan = create_plan(client, ent_b, enterprise_id=people["own"].id, accident_types=["火灾"])
    assert plan["enterprise_id"] == people["other"].id
    assert plan["draft_version"] == 1 and plan["current_version"] is None
    draft = client.get(f"/api/v1/plans/{plan['id']}/versions/1", headers=ent_b).get_json()
    assert draft["status"] == "draft" and draft["sections"] and draft["accident_types"] == ["火灾"]

    patched = client.patch(f"/api/v1/plans/{plan['id']}/versions/1", headers=ent_b,
                           json={"response_levels": [{"name": "一级", "criteria": "人员伤亡"}]})
    assert patched.status_code == 200 and patched.get_json()["response_levels"][0]["name"] == "一级"

    published = publish_first(client, ent_b, plan["id"])
    assert published["status"] == "published" and published["content_hash"]
    sections = published["sections"]
    added = next(s for s in sections if s["title"] == "应急处置" and "楼层服务员" in s["body"])
    assert "<script" not in added["body"]
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=ent_b).get_json()["current_version"] == 1
    versions = client.get(f"/api/v1/plans/{plan['id']}/versions", headers=ent_b).get_json()
    assert [v["number"] for v in versions] == [1]

    # Publication opened the filing; submitting without the materials names every missing one.
    filing = filing_of(client, ent_b, plan["id"])
    assert filing["status"] == "due" and filing["version"] == 1
    missing = problem(client.post(f"/api/v1/filings/{filing['id']}/submit", headers=ent_b, json={}), 422)
    details = errors_by_field(missing)["materials"]
    assert details == ["Missing: Risk assessment result、Emergency resource survey."]

    attach_materials(plan["id"], people["other_enterprise"])
    submitted = client.post(f"/api/v1/filings/{filing['id']}/submit", headers=ent_b,
                            json={"applicant_name": "李四", "applicant_phone": "0571-88888888"})
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["status"] == "submitted" and submitted.get_json()["decide_by"]
    assert all(submitted.get_json()["materials"].values())

    # Only the bureau decides.
    problem(client.post(f"/api/v1/filings/{filing['id']}/accept", headers=ent_b), 403)
    problem(client.post(f"/api/v1/filings/{filing['id']}/accept", headers=auth["viewer"]), 403)
    accepted = client.post(f"/api/v1/filings/{filing['id']}/accept", headers=auth["officer"])
    assert accepted.status_code == 200, accepted.get_json()
    number = accepted.get_json()["number"]
    assert accepted.get_json()["status"] == "accepted"
    assert re.fullmatch(rf".+-{local_today().year}-0001", number), number
    again = problem(client.post(f"/api/v1/filings/{filing['id']}/accept", headers=auth["officer"]), 422)
    assert "status" in errors_by_field(again)

    form = client.get(f"/api/v1/filings/{filing['id']}/form.pdf", headers=ent_b)
    assert form.status_code == 200 and form.mimetype == "application/pdf" and form.data.startswith(b"%PDF")
    pdf = client.get(f"/api/v1/plans/{plan['id']}/versions/1/pdf", headers=ent_b)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_return_names_every_item_and_resubmit(client, auth, people):
    ent_b, officer = auth["ent_b"], auth["officer"]
    plan = create_plan(client, officer, enterprise_id=people["other"].id)
    assert plan["enterprise_id"] == people["other"].id
    publish_first(client, officer, plan["id"])
    filing = filing_of(client, officer, plan["id"])
    # Not submitted yet: nothing to return.
    problem(client.post(f"/api/v1/filings/{filing['id']}/return", headers=officer,
                        json={"items": ["plan_content"]}), 422)
    attach_materials(plan["id"], people["officer"])
    assert client.post(f"/api/v1/filings/{filing['id']}/submit", headers=ent_b, json={}).status_code == 200

    empty = problem(client.post(f"/api/v1/filings/{filing['id']}/return", headers=officer, json={"items": []}), 422)
    assert "items" in errors_by_field(empty)
    unknown = problem(client.post(f"/api/v1/filings/{filing['id']}/return", headers=officer,
                                  json={"items": ["colour"]}), 422)
    assert list(errors_by_field(unknown)) == ["items.0"]
    problem(client.post(f"/api/v1/filings/{filing['id']}/return", headers=ent_b,
                        json={"items": ["signature"]}), 403)

    returned = client.post(f"/api/v1/filings/{filing['id']}/return", headers=officer,
                           json={"items": ["plan_content", "signature"], "note": "补充签名"})
    assert returned.status_code == 200, returned.get_json()
    body = returned.get_json()
    assert body["status"] == "returned" and body["return_items"] == ["plan_content", "signature"]
    assert body["return_note"] == "补充签名" and body["number"] is None
    assert [e["action"] for e in body["events"]][-1] == "returned"
    problem(client.get(f"/api/v1/filings/{filing['id']}/form.pdf", headers=ent_b), 404)

    listed = client.get("/api/v1/filings?status=returned", headers=officer).get_json()
    assert [f["id"] for f in listed] == [filing["id"]]
    assert client.get("/api/v1/filings?status=accepted", headers=officer).get_json() == []
    resubmitted = client.post(f"/api/v1/filings/{filing['id']}/submit", headers=ent_b, json={})
    assert resubmitted.status_code == 200 and resubmitted.get_json()["status"] == "submitted"


def test_revision_after_publication(client, auth, people):
    ent_b = auth["ent_b"]
    plan = create_plan(client, ent_b)
    publish_first(client, ent_b, plan["id"])
    # A published version never changes.
    refused = problem(client.patch(f"/api/v1/plans/{plan['id']}/versions/1", headers=ent_b,
                                   json={"accident_types": ["水灾"]}), 422)
    assert list(errors_by_field(refused)) == ["version"]
    problem(client.post(f"/api/v1/plans/{plan['id']}/versions/1/sections", headers=ent_b,
                        json={"title": "补充"}), 422)
    note = problem(client.post(f"/api/v1/plans/{plan['id']}/revisions", headers=ent_b,
                               json={"revision_trigger": "other"}), 422)
    assert list(errors_by_field(note)) == ["revision_note"]
    revised = client.post(f"/api/v1/plans/{plan['id']}/revisions", headers=ent_b,
                          json={"revision_trigger": "risk_changed", "revision_note": "新增客房楼"})
    assert revised.status_code == 201, revised.get_json()
    assert revised.get_json()["number"] == 2 and revised.get_json()["status"] == "draft"
    problem(client.post(f"/api/v1/plans/{plan['id']}/revisions", headers=ent_b,
                        json={"revision_trigger": "risk_changed"}), 422)
    problem(client.get(f"/api/v1/plans/{plan['id']}/versions/3", headers=ent_b), 404)


def test_review_is_recorded_and_required_for_high_risk(client, auth, people):
    """Enterprise A (hazardous chemicals) publishes only after a passing expert review."""
    ent_a = auth["ent_a"]
    plan = create_plan(client, ent_a, title="甲化工综合应急预案")
    url = f"/api/v1/plans/{plan['id']}/versions/1"
    assert client.post(f"{url}/sections", headers=ent_a, json={"title": "应急处置", "body": "<p>关阀</p>"}
                       ).status_code == 201
    blocked = problem(client.post(f"{url}/publish", headers=ent_a,
                                  json={"principal_name": "甲总", "signed_on": local_today().isoformat()}), 422)
    assert "version" in errors_by_field(blocked)
    expert = {"name": "专家甲", "organisation": "县应急专家库", "speciality": "化工", "no_conflict": False}
    conflicted = problem(client.post(f"{url}/review", headers=ent_a, json={
        "held_on": local_today().isoformat(), "conclusion": "pass", "experts": [expert]}), 422)
    assert list(errors_by_field(conflicted)) == ["experts"]
    review = client.post(f"{url}/review", headers=ent_a, json={
        "held_on": local_today().isoformat(), "conclusion": "pass", "opinion": "同意发布",
        "experts": [{**expert, "no_conflict": True}]})
    assert review.status_code == 201, review.get_json()
    assert review.get_json()["conclusion"] == "pass"
    drill_of(db.session.get(Plan, plan["id"]).versions[0])
    published = client.post(f"{url}/publish", headers=ent_a,
                            json={"principal_name": "甲总", "signed_on": local_today().isoformat()})
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["reviews"][0]["opinion"] == "同意发布"


# --- isolation and roles ------------------------------------------------------------------------

def test_enterprise_a_never_finds_b(client, auth, people):
    plan = create_plan(client, auth["ent_b"])
    publish_first(client, auth["ent_b"], plan["id"])
    filing = filing_of(client, auth["ent_b"], plan["id"])
    ent_a = auth["ent_a"]
    base = f"/api/v1/plans/{plan['id']}"
    for url in (base, f"{base}/versions", f"{base}/versions/1", f"{base}/versions/1/pdf",
                f"/api/v1/filings/{filing['id']}", f"/api/v1/filings/{filing['id']}/form.pdf"):
        problem(client.get(url, headers=ent_a), 404)
    problem(client.patch(f"{base}/versions/1", headers=ent_a, json={"accident_types": ["x"]}), 404)
    problem(client.post(f"{base}/revisions", headers=ent_a, json={"revision_trigger": "risk_changed"}), 404)
    problem(client.post(f"/api/v1/filings/{filing['id']}/submit", headers=ent_a, json={}), 404)
    assert client.get("/api/v1/plans", headers=ent_a).get_json() == []
    assert client.get(f"/api/v1/plans?enterprise_id={people['other'].id}", headers=ent_a).get_json() == []
    assert client.get("/api/v1/filings", headers=ent_a).get_json() == []
    # The officers see it.
    listed = client.get("/api/v1/plans?kind=comprehensive", headers=auth["viewer"])
    assert [p["id"] for p in listed.get_json()] == [plan["id"]]
    assert "X-Pagination" in listed.headers
    assert client.get("/api/v1/plans?kind=onsite", headers=auth["viewer"]).get_json() == []
    assert [f["id"] for f in client.get("/api/v1/filings", headers=auth["viewer"]).get_json()] == [filing["id"]]


def test_viewer_reads_but_never_writes(client, auth, people):
    viewer = auth["viewer"]
    plan = create_plan(client, auth["officer"], enterprise_id=people["other"].id)
    base = f"/api/v1/plans/{plan['id']}"
    assert client.get(base, headers=viewer).status_code == 200
    assert client.get(f"{base}/versions/1", headers=viewer).status_code == 200
    for method, url, body in (
            ("post", "/api/v1/plans", {"kind": "onsite", "title": "x", "enterprise_id": people["other"].id}),
            ("patch", f"{base}/versions/1", {"accident_types": ["x"]}),
            ("post", f"{base}/versions/1/sections", {"title": "x"}),
            ("post", f"{base}/versions/1/review", {}),
            ("post", f"{base}/versions/1/publish", {}),
            ("post", f"{base}/revisions", {}),
    ):
        problem(getattr(client, method)(url, headers=viewer, json=body), 403)
    assert db.session.scalar(sa.select(sa.func.count(Plan.id))) == 1
    problem(client.get("/api/v1/plans"), 401)


# --- validation problems ------------------------------------------------------------------------

def test_validation_errors_are_problem_details(client, auth, people):
    officer = auth["officer"]
    body = problem(client.post("/api/v1/plans", headers=officer,
                               json={"kind": "bogus", "title": "", "colour": "red"}), 422)
    errors = errors_by_field(body)
    assert set(errors) == {"kind", "title", "colour"}
    assert errors["title"] == ["This field is required."] and errors["colour"] == ["Unknown field."]
    for field in errors:
        assert field in body["detail"]
    assert errors_by_field(problem(client.post("/api/v1/plans", headers=officer,
                                               json={"kind": "onsite", "title": "x"}), 422)) == {
        "enterprise_id": ["Choose the enterprise."]}
    assert errors_by_field(problem(client.post("/api/v1/plans", headers=officer, json={
        "kind": "onsite", "title": "x", "enterprise_id": 999999}), 422)) == {"enterprise_id": ["No such enterprise."]}
    assert db.session.scalar(sa.select(sa.func.count(Plan.id))) == 0

    plan = create_plan(client, officer, enterprise_id=people["other"].id)
    # A second comprehensive plan is a rule of the plan system.
    assert "kind" in errors_by_field(problem(client.post("/api/v1/plans", headers=officer, json={
        "kind": "comprehensive", "title": "又一个", "enterprise_id": people["other"].id}), 422))
    url = f"/api/v1/plans/{plan['id']}/versions/1"
    section = errors_by_field(problem(client.post(f"{url}/sections", headers=officer,
                                                  json={"title": "x", "level": 7, "key_part": "nope"}), 422))
    assert set(section) == {"level", "key_part"}
    empty = problem(client.post(f"{url}/publish", headers=officer,
                                json={"principal_name": "乙总", "signed_on": local_today().isoformat()}), 422)
    assert errors_by_field(empty) == {"version": [
        "The plan has no text yet.",
        "Article 33: a new plan is tested by a drill before it is issued; record a drill of this draft "
        "(or ask the bureau to waive it with a reason)."]}
    assert set(errors_by_field(problem(client.post(f"{url}/publish", headers=officer,
                                                   json={"signed_on": "tomorrow"}), 422))) == {
        "principal_name", "signed_on"}
    bad_query = problem(client.get("/api/v1/filings?status=lost", headers=officer), 422)
    assert list(errors_by_field(bad_query)) == ["status"]
    assert db.session.scalar(sa.select(sa.func.count(Filing.id))) == 0


# --- the OpenAPI document ----------------------------------------------------------------------

def test_endpoints_in_openapi(client):
    paths = json.loads(client.get("/api/v1/openapi.json").get_data(as_text=True))["paths"]
    expected = {
        "/api/v1/plans": {"get", "post"},
        "/api/v1/plans/{plan_id}": {"get"},
        "/api/v1/plans/{plan_id}/versions": {"get"},
        "/api/v1/plans/{plan_id}/versions/{number}": {"get", "patch"},
        "/api/v1/plans/{plan_id}/versions/{number}/sections": {"post"},
        "/api/v1/plans/{plan_id}/versions/{number}/review": {"post"},
        "/api/v1/plans/{plan_id}/versions/{number}/publish": {"post"},
        "/api/v1/plans/{plan_id}/revisions": {"post"},
        "/api/v1/plans/{plan_id}/versions/{number}/pdf": {"get"},
        "/api/v1/plans/{plan_id}/versions/{number}/sections/{section_id}": {"patch", "delete"},
        "/api/v1/plans/{plan_id}/versions/{number}/sections/{section_id}/move": {"post"},
        "/api/v1/plans/{plan_id}/versions/{number}/attachments": {"get", "post"},
        "/api/v1/attachments/{attachment_id}": {"get", "delete"},
        "/api/v1/plans/{plan_id}/versions/{number}/import": {"post"},
        "/api/v1/plans/{plan_id}/evaluations": {"get", "post"},
        "/api/v1/plans/{plan_id}/compare": {"get"},
        "/api/v1/plans/{plan_id}/versions/{number}/card.pdf": {"get"},
        "/api/v1/filings": {"get"},
        "/api/v1/filings/{filing_id}": {"get"},
        "/api/v1/filings/{filing_id}/submit": {"post"},
        "/api/v1/filings/{filing_id}/accept": {"post"},
        "/api/v1/filings/{filing_id}/return": {"post"},
        "/api/v1/filings/{filing_id}/form.pdf": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), (path, sorted(paths[path]))
        for method in methods:
            assert paths[path][method]["security"] == [{"bearerAuth": []}], (path, method)
    assert "PlanCreateInput" in json.dumps(paths["/api/v1/plans"]["post"])
    assert "SubmitInput" in json.dumps(paths["/api/v1/filings/{filing_id}/submit"]["post"])
    assert "application/pdf" in paths["/api/v1/plans/{plan_id}/versions/{number}/pdf"]["get"]["responses"]["200"][
        "content"]
    # Uploads are multipart/form-data with the file and the form fields in one schema.
    document = json.loads(client.get("/api/v1/openapi.json").get_data(as_text=True))
    for path, schema in (("/api/v1/plans/{plan_id}/versions/{number}/attachments", "AttachmentInput"),
                         ("/api/v1/plans/{plan_id}/versions/{number}/import", "ImportInput")):
        body = paths[path]["post"]["requestBody"]["content"]
        assert list(body) == ["multipart/form-data"], body
        assert body["multipart/form-data"]["schema"]["$ref"].endswith(schema)
    properties = document["components"]["schemas"]["AttachmentInput"]["properties"]
    assert properties["file"] == {"type": "string", "format": "binary"} and "kind" in properties
    assert "from" in json.dumps(paths["/api/v1/plans/{plan_id}/compare"]["get"]["parameters"])


# --- attachments, sections, Word import, evaluations, comparison, the card -----------------------

def png_bytes() -> bytes:
    """A real 1×1 PNG (signature, IHDR, IDAT, IEND with their CRCs)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def upload(client, url: str, headers, filename: str, data: bytes, **fields):
    import io

    return client.post(url, headers=headers, content_type="multipart/form-data",
                       data={**fields, "file": (io.BytesIO(data), filename)})


def test_attachments_upload_list_download_delete(client, auth, people):
    ent_b = auth["ent_b"]
    plan = create_plan(client, ent_b)
    url = f"/api/v1/plans/{plan['id']}/versions/1/attachments"

    pdf = upload(client, url, ent_b, "风险评估.pdf", PDF_BYTES, kind="risk_assessment")
    assert pdf.status_code == 201, pdf.get_json()
    assert pdf.get_json()["file_type"] == "pdf" and pdf.get_json()["filename"] == "风险评估.pdf"
    png = upload(client, url, ent_b, "疏散图.png", png_bytes(), kind="other")
    assert png.status_code == 201 and png.get_json()["file_type"] == "png"

    # The content decides: a PNG named .pdf, a text file, a missing file or kind are named.
    mismatch = problem(upload(client, url, ent_b, "假的.pdf", png_bytes(), kind="other"), 422)
    assert list(errors_by_field(mismatch)) == ["file"]
    assert "does not match" in errors_by_field(mismatch)["file"][0]
    assert list(errors_by_field(problem(upload(client, url, ent_b, "说明.txt", b"hello", kind="other"),
                                        422))) == ["file"]
    missing = problem(client.post(url, headers=ent_b, content_type="multipart/form-data", data={}), 422)
    assert set(errors_by_field(missing)) == {"file", "kind"}
    assert list(errors_by_field(problem(upload(client, url, ent_b, "a.pdf", PDF_BYTES, kind="colour"),
                                        422))) == ["kind"]
    # A form field named "file" is not a file.
    text_field = problem(client.post(url, headers=ent_b, content_type="multipart/form-data",
                                     data={"kind": "other", "file": "not a file"}), 422)
    assert list(errors_by_field(text_field)) == ["file"]
    as_json = problem(client.post(url, headers=ent_b, json={"kind": "other", "file": "x"}), 422)
    assert set(errors_by_field(as_json)) == {"file", "kind"}

    listed = client.get(url, headers=ent_b)
    assert listed.status_code == 200
    assert [(a["kind"], a["file_type"]) for a in listed.get_json()] == [("risk_assessment", "pdf"), ("other", "png")]
    download = client.get(f"/api/v1/attachments/{png.get_json()['id']}", headers=ent_b)
    assert download.status_code == 200 and download.mimetype == "image/png" and download.data == png_bytes()

    # Enterprise A never finds them; the viewer reads but never writes.
    problem(client.get(url, headers=auth["ent_a"]), 404)
    problem(client.get(f"/api/v1/attachments/{pdf.get_json()['id']}", headers=auth["ent_a"]), 404)
    problem(client.delete(f"/api/v1/attachments/{pdf.get_json()['id']}", headers=auth["ent_a"]), 404)
    problem(upload(client, url, auth["ent_a"], "a.pdf", PDF_BYTES, kind="other"), 404)
    problem(upload(client, url, auth["viewer"], "a.pdf", PDF_BYTES, kind="other"), 403)
    assert client.get(url, headers=auth["viewer"]).status_code == 200

    # Removed from a draft; never from a published version.
    assert client.delete(f"/api/v1/attachments/{png.get_json()['id']}", headers=ent_b).status_code == 204
    assert [a["id"] for a in client.get(url, headers=ent_b).get_json()] == [pdf.get_json()["id"]]
    publish_first(client, ent_b, plan["id"])
    kept = problem(client.delete(f"/api/v1/attachments/{pdf.get_json()['id']}", headers=ent_b), 422)
    assert list(errors_by_field(kept)) == ["version"]
    # Filing materials may still arrive after publication.
    assert upload(client, url, ent_b, "资源调查.pdf", PDF_BYTES, kind="resource_survey").status_code == 201


def test_sections_change_move_and_delete_only_on_a_draft(client, auth, people):
    ent_b = auth["ent_b"]
    plan = create_plan(client, ent_b)
    base = f"/api/v1/plans/{plan['id']}/versions/1"
    titles = lambda: [s["title"] for s in client.get(base, headers=ent_b).get_json()["sections"]]  # noqa: E731
    sections = client.get(base, headers=ent_b).get_json()["sections"]
    first, second, third = sections[0], sections[1], sections[2]

    changed = client.patch(f"{base}/sections/{third['id']}", headers=ent_b,
                           json={"body": "<p><strong>一级响应</strong>：人员伤亡</p><script>x()</script>"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    # Only the body changed (a partial change keeps the title, level and key part).
    assert (body["title"], body["level"], body["key_part"]) == (third["title"], third["level"], third["key_part"])
    assert body["body"] == "<p><strong>一级响应</strong>：人员伤亡</p>"
    invalid = problem(client.patch(f"{base}/sections/{third['id']}", headers=ent_b,
                                   json={"level": 9, "position": 1}), 422)
    assert set(errors_by_field(invalid)) == {"level", "position"}

    moved = client.post(f"{base}/sections/{third['id']}/move", headers=ent_b, json={"direction": "up"})
    assert moved.status_code == 200, moved.get_json()
    assert [s["id"] for s in moved.get_json()][:3] == [first["id"], third["id"], second["id"]]
    moved = client.post(f"{base}/sections/{first['id']}/move", headers=ent_b, json={"position": 3})
    assert [s["id"] for s in moved.get_json()][:3] == [third["id"], second["id"], first["id"]]
    assert [s["position"] for s in moved.get_json()] == list(range(1, len(sections) + 1))
    both = problem(client.post(f"{base}/sections/{first['id']}/move", headers=ent_b,
                               json={"direction": "up", "position": 1}), 422)
    assert list(errors_by_field(both)) == ["direction"]

    assert client.delete(f"{base}/sections/{second['id']}", headers=ent_b).status_code == 204
    assert second["title"] not in titles()[:3] and len(titles()) == len(sections) - 1
    problem(client.delete(f"{base}/sections/{second['id']}", headers=ent_b), 404)
    problem(client.patch(f"{base}/sections/{first['id']}", headers=auth["ent_a"], json={"title": "x"}), 404)
    problem(client.patch(f"{base}/sections/{first['id']}", headers=auth["viewer"], json={"title": "x"}), 403)

    # Published: every change is refused, and the text stays as it was.
    publish_first(client, ent_b, plan["id"])
    before = client.get(base, headers=ent_b).get_json()["sections"]
    for response in (client.patch(f"{base}/sections/{first['id']}", headers=ent_b, json={"title": "改"}),
                     client.post(f"{base}/sections/{first['id']}/move", headers=ent_b, json={"direction": "down"}),
                     client.delete(f"{base}/sections/{first['id']}", headers=ent_b)):
        assert list(errors_by_field(problem(response, 422))) == ["version"]
    assert client.get(base, headers=ent_b).get_json()["sections"] == before


def docx_bytes(headings: list[tuple[str, str]]) -> bytes:
    import io

    import docx

    document = docx.Document()
    for title, text in headings:
        document.add_heading(title, level=1)
        paragraph = document.add_paragraph()
        paragraph.add_run(text).bold = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_import_previews_then_replaces_the_draft(client, auth, people):
    ent_b = auth["ent_b"]
    plan = create_plan(client, ent_b)
    base = f"/api/v1/plans/{plan['id']}/versions/1"
    original = client.get(base, headers=ent_b).get_json()["sections"]
    data = docx_bytes([("总则", "为规范酒店应急管理制定本预案。"), ("应急组织机构及职责", "总经理任总指挥。"),
                       ("应急处置", "楼层服务员引导疏散。")])

    preview = upload(client, f"{base}/import", ent_b, "酒店预案.docx", data)
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["saved"] is False
    found = preview.get_json()["sections"]
    assert [(s["title"], s["level"]) for s in found] == [("总则", 1), ("应急组织机构及职责", 1), ("应急处置", 1)]
    assert found[2]["body"] == "<p><strong>楼层服务员引导疏散。</strong></p>"
    assert client.get(base, headers=ent_b).get_json()["sections"] == original

    confirmed = upload(client, f"{base}/import", ent_b, "酒店预案.docx", data, confirm="true")
    assert confirmed.status_code == 200 and confirmed.get_json()["saved"] is True
    sections = client.get(base, headers=ent_b).get_json()["sections"]
    assert [(s["title"], s["key_part"]) for s in sections] == [
        ("总则", None), ("应急组织机构及职责", "command"), ("应急处置", "measures")]

    # A PDF is not a Word document; enterprise A and the viewer get nowhere.
    assert list(errors_by_field(problem(upload(client, f"{base}/import", ent_b, "a.pdf", PDF_BYTES), 422))) == [
        "file"]
    problem(upload(client, f"{base}/import", auth["ent_a"], "x.docx", data, confirm="true"), 404)
    problem(upload(client, f"{base}/import", auth["viewer"], "x.docx", data, confirm="true"), 403)
    publish_first(client, ent_b, plan["id"])
    assert list(errors_by_field(problem(upload(client, f"{base}/import", ent_b, "x.docx", data), 422))) == [
        "version"]


def test_compare_after_a_revision_names_key_changes(client, auth, people):
    ent_b = auth["ent_b"]
    plan = create_plan(client, ent_b)
    problem(client.get(f"/api/v1/plans/{plan['id']}/compare", headers=ent_b), 422)
    publish_first(client, ent_b, plan["id"])
    assert client.post(f"/api/v1/plans/{plan['id']}/revisions", headers=ent_b,
                       json={"revision_trigger": "command_changed"}).status_code == 201
    draft = client.get(f"/api/v1/plans/{plan['id']}/versions/2", headers=ent_b).get_json()
    command = next(s for s in draft["sections"] if s["key_part"] == "command")
    assert client.patch(f"/api/v1/plans/{plan['id']}/versions/2/sections/{command['id']}", headers=ent_b,
                        json={"body": "<p>值班经理任现场指挥</p>"}).status_code == 200

    compared = client.get(f"/api/v1/plans/{plan['id']}/compare?from=1&to=2", headers=ent_b)
    assert compared.status_code == 200, compared.get_json()
    body = compared.get_json()
    assert (body["from"], body["to"]) == (1, 2)
    assert body["key_changes"] == ["command"] and body["refiling_needed"] is True
    changed = [s for s in body["sections"] if s["change"] != "unchanged"]
    assert [(s["old_title"], s["new_title"], s["change"], s["key_part"]) for s in changed] == [
        (command["title"], command["title"], "changed", "command")]
    assert "值班经理任现场指挥" in changed[0]["diff"]
    assert client.get(f"/api/v1/plans/{plan['id']}/compare", headers=ent_b).get_json() == body
    same = client.get(f"/api/v1/plans/{plan['id']}/compare?from=1&to=1", headers=ent_b).get_json()
    assert same["key_changes"] == [] and same["refiling_needed"] is False
    problem(client.get(f"/api/v1/plans/{plan['id']}/compare?from=1&to=9", headers=ent_b), 404)
    assert list(errors_by_field(problem(client.get(f"/api/v1/plans/{plan['id']}/compare?from=x",
                                                   headers=ent_b), 422))) == ["from"]
    problem(client.get(f"/api/v1/plans/{plan['id']}/compare", headers=auth["ent_a"]), 404)


def test_evaluations_recorded_and_due(client, auth, people):
    ent_b = auth["ent_b"]
    plan = create_plan(client, ent_b)
    url = f"/api/v1/plans/{plan['id']}/evaluations"
    assert plan["evaluation_due"] is None
    today = local_today()
    unpublished = problem(client.post(url, headers=ent_b, json={"evaluated_on": today.isoformat(),
                                                                "conclusion": "no_change"}), 422)
    assert list(errors_by_field(unpublished)) == ["plan"]
    publish_first(client, ent_b, plan["id"])
    # The hotel is a crowded place: it evaluates every three years from signing.
    due = client.get(f"/api/v1/plans/{plan['id']}", headers=ent_b).get_json()["evaluation_due"]
    assert due == plan_ops.evaluation_due(db.session.get(Plan, plan["id"])).isoformat()
    assert due.startswith(str(today.year + 3))

    invalid = problem(client.post(url, headers=ent_b, json={"evaluated_on": "2099-01-01", "conclusion": "maybe"}), 422)
    assert list(errors_by_field(invalid)) == ["conclusion"]
    future = problem(client.post(url, headers=ent_b, json={"evaluated_on": "2099-01-01",
                                                           "conclusion": "no_change"}), 422)
    assert list(errors_by_field(future)) == ["evaluated_on"]
    recorded = client.post(url, headers=ent_b, json={"evaluated_on": today.isoformat(), "conclusion": "revise",
                                                     "note": "组织机构调整"})
    assert recorded.status_code == 201, recorded.get_json()
    assert client.get(url, headers=ent_b).get_json() == [recorded.get_json()]
    assert recorded.get_json()["conclusion"] == "revise" and recorded.get_json()["note"] == "组织机构调整"
    problem(client.get(url, headers=auth["ent_a"]), 404)
    problem(client.post(url, headers=auth["viewer"], json={"evaluated_on": today.isoformat(),
                                                           "conclusion": "no_change"}), 403)
    # The list shows the same date.
    assert client.get("/api/v1/plans", headers=ent_b).get_json()[0]["evaluation_due"] == due


def test_emergency_card_pdf_for_onsite_plans(client, auth, people, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("needs poppler-utils")
    ent_b = auth["ent_b"]
    comprehensive = create_plan(client, ent_b)
    onsite = create_plan(client, ent_b, kind="onsite", title="乙酒店厨房火灾现场处置方案")
    base = f"/api/v1/plans/{onsite['id']}/versions/1"
    sections = client.get(base, headers=ent_b).get_json()["sections"]
    response = next(s for s in sections if s["title"] == "应急处置")
    assert client.patch(f"{base}/sections/{response['id']}", headers=ent_b,
                        json={"body": "<p>关闭燃气总阀，使用灭火毯覆盖油锅</p>"}).status_code == 200

    card = client.get(f"{base}/card.pdf", headers=ent_b)
    assert card.status_code == 200 and card.mimetype == "application/pdf" and card.data.startswith(b"%PDF")
    path = tmp_path / "card.pdf"
    path.write_bytes(card.data)
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                                             text=True).stdout)
    assert "乙酒店厨房火灾现场处置方案" in text and "关闭燃气总阀，使用灭火毯覆盖油锅" in text
    assert "应急处置卡" in text
    problem(client.get(f"/api/v1/plans/{comprehensive['id']}/versions/1/card.pdf", headers=ent_b), 404)
    problem(client.get(f"{base}/card.pdf", headers=auth["ent_a"]), 404)
    problem(client.get(f"/api/v1/plans/{onsite['id']}/versions/2/card.pdf", headers=ent_b), 404)
