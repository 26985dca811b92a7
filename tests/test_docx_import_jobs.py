"""Word imports as jobs: a large file is read by the worker while the page shows its progress;
then the preview, then the confirmation. Files over the limits are refused and nothing is kept."""
from __future__ import annotations

import hashlib
import io
import re
import zipfile

import docx
import pytest
import sqlalchemy as sa

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from plans.plan import operations as plan_ops
from plans.plan.models import ImportJob, PlanVersion
from emergency.core.queue import app_queue

PROBLEM = "application/problem+json"


def large_plan(chapters: int = 6, paragraphs: int = 40) -> bytes:
    d = docx.Document()
    for chapter in range(1, chapters + 1):
        d.add_heading(f"{chapter} 第{chapter}章", level=1)
        for n in range(paragraphs):
            d.add_paragraph(f"第{chapter}章第{n + 1}段。", style="List Number" if n % 4 == 3 else None)
    buffer = io.BytesIO()
    d.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def draft(app, people) -> PlanVersion:
    plan = plan_ops.create_plan(people["enterprise"], people["own"], {"kind": "comprehensive", "title": "甲化工综合预案"})
    db.session.commit()
    # Files of more than 50 paragraphs go to the worker (the default threshold is 1,000).
    app.config["DOCX_IMPORT_INLINE_PARAGRAPHS"] = 50
    return plan.versions[0]


def run_worker() -> list:
    """Dequeue and execute every waiting task, as the consumer does; their results."""
    results = []
    huey = app_queue().huey
    while (task := huey.dequeue()) is not None:
        results.append(huey.execute(task))
    return results


def upload_page(client, version: PlanVersion, data: bytes, filename: str = "综合预案.docx"):
    return client.post(f"/plans/{version.plan_id}/versions/{version.number}/import",
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def titles(version_id: int) -> list[str]:
    db.session.expire_all()
    return [s.title for s in db.session.get(PlanVersion, version_id).sections]


def test_a_large_file_is_read_by_the_worker_with_progress_then_previewed_and_confirmed(
        client, login, draft, real_queue):
    login("ent-a")
    before = titles(draft.id)
    assert client.get(f"/plans/{draft.plan_id}/versions/1/import").status_code == 200

    response = upload_page(client, draft, large_plan())
    assert response.status_code == 302
    job_page = response.headers["Location"]
    assert re.fullmatch(rf"/plans/{draft.plan_id}/versions/1/import/\d+", job_page)

    # The upload only queued the job: the page shows its progress and refreshes itself.
    waiting = client.get(job_page)
    html = waiting.get_data(as_text=True)
    assert waiting.status_code == 200 and 'id="import-progress"' in html
    assert '<meta http-equiv="refresh"' in html and "等待后台处理" in html and "246 段" in html
    assert 'id="confirm-form"' not in html
    # Nothing to save yet.
    early = client.post(job_page)
    assert early.status_code == 422 and "本次导入尚不能保存（等待后台处理）。" in early.get_data(as_text=True)

    assert run_worker() == ["done"]
    job = db.session.scalar(sa.select(ImportJob))
    assert (job.status, job.progress, job.paragraphs) == ("done", 100, 246)
    preview = client.get(job_page)
    html = preview.get_data(as_text=True)
    assert 'id="import-preview"' in html and 'id="confirm-form"' in html and "refresh" not in html
    assert "共识别出 6 个章节。" in html
    assert "<h3>3 第3章</h3>" in html and "<ol><li>第3章第4段。</li></ol>" in html
    assert titles(draft.id) == before  # a preview changes nothing

    saved = client.post(job_page)
    assert saved.status_code == 302 and saved.headers["Location"].startswith(f"/plans/{draft.plan_id}/versions/1")
    assert titles(draft.id) == [f"{n} 第{n}章" for n in range(1, 7)]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "import_sections"))
    assert entry.actor == "ent-a" and entry.changes["source"] == "综合预案.docx"
    # Saved once: confirming again is refused, and the page says it was saved.
    assert client.post(job_page).status_code == 422
    assert "这些章节已保存到草稿。" in client.get(job_page).get_data(as_text=True)


def test_a_failed_or_stalled_job_says_so_and_offers_the_upload_again(app, client, login, draft, real_queue):
    login("ent-a")
    # Passes the checks made at upload (the main part is sound) but its styles part is broken.
    source = large_plan()
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as archive, zipfile.ZipFile(broken, "w") as target:
        for info in archive.infolist():
            body = archive.read(info)
            target.writestr(info.filename, body[: len(body) // 2] if info.filename == "word/styles.xml" else body)
    job_page = upload_page(client, draft, broken.getvalue(), "坏.docx").headers["Location"]
    assert run_worker() == ["failed"]
    html = client.get(job_page).get_data(as_text=True)
    assert "坏.docx：无法作为 Word 文档读取，文件可能已损坏。" in html and 'id="import-form"' in html

    job_page = upload_page(client, draft, large_plan()).headers["Location"]
    app.config["DOCX_IMPORT_STALL_MINUTES"] = 0  # the worker never came
    html = client.get(job_page).get_data(as_text=True)
    assert "导入未完成即已中止，请重新上传文件。" in html and "refresh" not in html


def test_a_small_file_is_read_in_the_request(client, login, draft):
    login("ent-a")
    response = upload_page(client, draft, large_plan(chapters=2, paragraphs=5))
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="import-preview"' in html and "<h3>2 第2章</h3>" in html


def test_the_api_queues_a_large_file_and_saves_it_when_confirmed(client, token_for, draft, real_queue):
    headers = token_for("ent-a")
    base = f"/api/v1/plans/{draft.plan_id}/versions/1"
    before = titles(draft.id)

    queued = client.post(f"{base}/import", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(large_plan()), "综合预案.docx")})
    assert queued.status_code == 202, queued.get_json()
    job = queued.get_json()
    assert (job["status"], job["saved"], job["sections"], job["paragraphs"]) == ("queued", False, [], 246)
    url = f"{base}/imports/{job['id']}"
    assert client.get(url, headers=headers).get_json()["status"] == "queued"
    not_yet = client.post(f"{url}/confirm", headers=headers)
    assert not_yet.status_code == 422 and not_yet.mimetype == PROBLEM
    assert [e["field"] for e in not_yet.get_json()["errors"]] == ["job"]

    run_worker()
    done = client.get(url, headers=headers).get_json()
    assert (done["status"], done["progress"], len(done["sections"])) == ("done", 100, 6)
    assert titles(draft.id) == before
    confirmed = client.post(f"{url}/confirm", headers=headers)
    assert confirmed.status_code == 200 and confirmed.get_json()["saved"] is True
    assert titles(draft.id) == [f"{n} 第{n}章" for n in range(1, 7)]

    # confirm=true: the worker saves the sections itself.
    queued = client.post(f"{base}/import", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(large_plan(chapters=3)), "第二稿.docx"), "confirm": "true"})
    assert queued.status_code == 202
    assert run_worker() == ["saved"]
    assert titles(draft.id) == [f"{n} 第{n}章" for n in range(1, 4)]
    # Another enterprise never finds the job.
    assert client.get(url, headers=token_for("ent-b")).status_code == 404


def test_a_file_over_the_paragraph_limit_is_refused_and_nothing_is_kept(app, client, login, token_for, draft):
    app.config["DOCX_IMPORT_MAX_PARAGRAPHS"] = 200
    data = large_plan()  # 246 paragraphs
    before = titles(draft.id)

    api = client.post(f"/api/v1/plans/{draft.plan_id}/versions/1/import", headers=token_for("ent-a"),
                      content_type="multipart/form-data",
                      data={"file": (io.BytesIO(data), "大预案.docx"), "confirm": "true"})
    assert api.status_code == 422 and api.mimetype == PROBLEM
    assert [(e["field"], e["detail"]) for e in api.get_json()["errors"]] == [
        ("file", "大预案.docx：段落超过 200 段，超出导入上限。")]

    login("ent-a")
    page = upload_page(client, draft, data, "大预案.docx")
    assert page.status_code == 422
    assert "大预案.docx：段落超过 200 段，超出导入上限。" in page.get_data(as_text=True)

    assert db.session.scalar(sa.select(sa.func.count(ImportJob.id))) == 0
    assert titles(draft.id) == before
    from emergency.core import files

    assert not files.path_for(hashlib.sha256(data).hexdigest()).exists()  # the file was not kept
