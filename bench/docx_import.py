"""Word import benchmark: a large plan and a hostile file, timed through the importer.

    .venv/bin/python bench/docx_import.py
    .venv/bin/python bench/docx_import.py --paragraphs 5000 --runs 5

Builds with python-docx (seeded, the same documents every run):

* a plan of ``--paragraphs`` body paragraphs (5,000 by default, what real plans run to): a
  chapter heading every 100 paragraphs and a sub-heading every 25, numbered and bulleted lists
  (two levels), a 6×4 table with a header row and a merged cell every 100 paragraphs, bold and
  italic runs;
* the hostile file of issue 15: 4,000 one-letter paragraphs (37 KB), which took 22 s before
  style lookups were made linear;
* two files over the limits (25,000 paragraphs; 63 MB of XML in a file of a few MB), timed to
  their refusal.

Timed (best and median of ``--runs``): the import (``import_docx``: limits check, parse,
sections as sanitised HTML) and the preview page that shows the result (rendered through the
web app's template with the test client, logged in as the enterprise, after an upload that
goes through the import job as a user's does).
"""
from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench")
os.environ["HUEY_IMMEDIATE"] = "1"
os.environ.setdefault("HUEY_SQLITE_PATH", os.path.join(tempfile.mkdtemp(prefix="bench-docx-huey-"), "huey.db"))
os.environ.pop("DATABASE_URL", None)

import docx
from docx.oxml import OxmlElement

PASSWORD = "Bench-password-1"
WORDS = ("应急", "预案", "事故", "响应", "疏散", "报警", "救援", "指挥", "值班", "物资", "演练", "培训", "泄漏", "火灾",
         "储罐", "阀门", "消防", "医疗", "通讯", "警戒")


def saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def sentence(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))) + "。"


def large_plan(paragraphs: int, seed: int = 15) -> bytes:
    rng = random.Random(seed)
    d = docx.Document()
    chapter = section = 0
    for n in range(paragraphs):
        if n % 100 == 0:
            chapter += 1
            section = 0
            d.add_heading(f"{chapter} 第{chapter}章", level=1)
        elif n % 25 == 0:
            section += 1
            d.add_heading(f"{chapter}.{section} 第{section}节", level=2)
        kind = n % 10
        if kind in (3, 4):
            d.add_paragraph(sentence(rng), style="List Number")
        elif kind == 5:
            d.add_paragraph(sentence(rng), style="List Bullet")
        elif kind == 6:
            d.add_paragraph(sentence(rng), style="List Bullet 2")
        else:
            p = d.add_paragraph(sentence(rng))
            p.add_run(sentence(rng)).bold = True
            p.add_run(sentence(rng)).italic = True
        if n % 100 == 50:
            table = d.add_table(rows=6, cols=4)
            table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
            for row in range(6):
                for column in range(4):
                    table.cell(row, column).text = rng.choice(WORDS) if row else f"列{column + 1}"
            table.cell(1, 0).merge(table.cell(2, 0))
    return saved(d)


def hostile() -> bytes:
    d = docx.Document()
    for _ in range(4000):
        d.add_paragraph("a")
    return saved(d)


def oversized(paragraphs: int, chars: int, seed: int = 63) -> bytes:
    """A blank python-docx document whose body is replaced by ``paragraphs`` raw paragraphs of
    ``chars`` characters each (random words: it compresses like text, not like a zip bomb)."""
    rng = random.Random(seed)
    source = saved(docx.Document())
    words = rng.choices(WORDS, k=chars // 2 * 50)
    texts = ["".join(words[i:i + chars // 2]) for i in range(0, len(words), chars // 2)]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as archive, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == "word/document.xml":
                head = data[: data.index(b"<w:body>") + len(b"<w:body>")]
                body = b"".join(f"<w:p><w:r><w:t>{texts[n % len(texts)]}{n}</w:t></w:r></w:p>".encode()
                                for n in range(paragraphs))
                data = head + body + b"</w:body></w:document>"
            target.writestr(info.filename, data)
    return out.getvalue()


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def page_flow(app, client, version, data: bytes, filename: str):
    """Upload on the page, follow to the import job's page (the preview); returns the preview HTML."""
    def run():
        response = client.post(f"/plans/{version.plan_id}/versions/{version.number}/import",
                               data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and 'id="import-preview"' in page.get_data(as_text=True)
        return page
    return run


def make_app():
    from flask_migrate import upgrade

    from emergency import create_app
    from emergency.core.extensions import db

    folder = Path(tempfile.mkdtemp(prefix="bench-docx-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}", "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "ATTACHMENT_DIR": str(folder / "files")})
    app.instance_path = str(folder / "instance")
    ctx = app.app_context()
    ctx.push()
    upgrade()
    from emergency.auth.models import Role, User
    from emergency.organisations.models import Enterprise, Jurisdiction, Township
    from plans.plan import operations as plan_ops

    county = Jurisdiction(name="基准县", area_code="330998", bureau_name="基准县应急管理局")
    township = Township(jurisdiction=county, name="城关镇")
    enterprise = Enterprise(name="基准化工有限公司", credit_code="91330999000000000X", industry="manufacturing",
                            scale="small", township=township, principal_name="张三",
                            principal_mobile="+8613800138000", safety_manager_name="李四",
                            safety_manager_mobile="+8613900139000")
    user = User(username="bench", display_name="bench", role=Role.enterprise, enterprise=enterprise)
    user.set_password(PASSWORD)
    db.session.add_all([county, township, enterprise, user])
    db.session.flush()
    plan = plan_ops.create_plan(user, enterprise, {"kind": "comprehensive", "title": "基准预案"})
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"username": "bench", "password": PASSWORD}).status_code == 302
    return app, client, plan.versions[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paragraphs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    plan = large_plan(args.paragraphs)
    bad = hostile()
    print(f"built in {time.perf_counter() - started:.1f} s: plan {len(plan) / 1024:.0f} KB, "
          f"hostile {len(bad) / 1024:.0f} KB")

    app, client, version = make_app()
    from plans.documents.docx_import import import_docx, measure

    for label, data, filename in ((f"plan, {args.paragraphs} paragraphs", plan, "预案.docx"),
                                  ("hostile, 4000 one-letter paragraphs", bad, "a.docx")):
        with app.test_request_context():
            shape = measure(data, filename)
            sections = import_docx(data, filename)
            best, median = timed(lambda data=data, filename=filename: import_docx(data, filename), args.runs)
        print(f"{label}: {shape.paragraphs} paragraphs, {shape.tables} tables, {shape.cells} cells, "
              f"{shape.xml_bytes / 1e6:.1f} MB XML -> {len(sections)} sections")
        print(f"  import (parse + sections)      best {best:6.3f} s   median {median:6.3f} s")
        best, median = timed(page_flow(app, client, version, data, filename), max(1, args.runs // 2))
        print(f"  upload + job + preview page    best {best:6.3f} s   median {median:6.3f} s")

    from marshmallow import ValidationError

    for label, data in (("25,000 paragraphs (over the paragraph limit)", oversized(25_000, 10)),
                        ("3,000 paragraphs of 7,000 characters (63 MB of XML)", oversized(3_000, 7_000))):
        with app.test_request_context():
            started = time.perf_counter()
            try:
                import_docx(data, "big.docx")
                outcome = "imported"
            except ValidationError as exc:
                outcome = f"refused: {exc.messages}"
            took = time.perf_counter() - started
        print(f"{label}, {len(data) / 1e6:.1f} MB file: {took:.3f} s, {outcome}")


if __name__ == "__main__":
    main()
