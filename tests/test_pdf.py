"""PDF rendering with the real wkhtmltopdf: Chinese text, escaping, and the hardening.

The text comes back out through poppler's pdftotext, the fonts through pdffonts. Test-only
templates live in tests/templates/pdf_test/ and extend the real templates/pdf/base.html.
"""
from __future__ import annotations

import http.server
import os
import re
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pdfkit
import pytest
from jinja2 import ChoiceLoader, FileSystemLoader

from emergency.core.files import write_atomic
from emergency.core.pdf import PdfRenderError, cached_pdf, render_pdf, render_pdf_html

TEST_TEMPLATES = Path(__file__).resolve().parent / "templates"

pytestmark = pytest.mark.skipif(
    not (shutil.which("wkhtmltopdf") and shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="needs wkhtmltopdf and poppler-utils (scripts/system-deps.sh test)",
)

PLAN_TITLE = "某某化工有限公司生产安全事故综合应急预案"
PARAGRAPH = ("为了规范本单位生产安全事故应急管理工作，迅速有效地控制和处置可能发生的事故，依据《中华人民共和国"
             "安全生产法》《生产安全事故应急预案管理办法》（应急管理部令第2号），结合本单位实际，制定本预案。")


@pytest.fixture
def pdf_app(app):
    """The test app, also finding the test-only templates."""
    app.jinja_env.loader = ChoiceLoader([app.jinja_env.loader, FileSystemLoader(str(TEST_TEMPLATES))])
    return app


def sample_context(**changes):
    context = {
        "plan_title": PLAN_TITLE,
        "enterprise": "某某化工有限公司",
        "version": "第3版",
        "date": "2025年3月",
        "paragraph": PARAGRAPH,
        "user_text": "无",
        "items": ["火灾事故", "危险化学品泄漏事故", "中毒和窒息事故"],
        "rows": [["总指挥", "张三", "138 0013 8000"], ["副总指挥", "欧阳晓峰", "139 0013 9000"]],
        "richtext": "<h3>1.2 响应分级</h3><p>响应分为<strong>一级、二级、三级</strong>。</p>",
    }
    context.update(changes)
    return context


def pdf_text(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / f"out-{time.monotonic_ns()}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def squeeze(text: str) -> str:
    """pdftotext breaks lines where the page does; compare text without any whitespace."""
    return re.sub(r"\s+", "", text)


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in listing.splitlines()[2:] if line.strip()]


# --- Chinese text, layout ----------------------------------------------------------------

def test_chinese_text_comes_back_exactly_in_the_cjk_font(pdf_app, tmp_path):
    pdf = render_pdf("pdf_test/sample.html", sample_context())
    assert pdf.startswith(b"%PDF-")
    text = squeeze(pdf_text(pdf, tmp_path))
    for expected in (PLAN_TITLE, PARAGRAPH, "1总则", "1.1适用范围", "危险化学品泄漏事故", "欧阳晓峰",
                     "13900139000", "响应分为一级、二级、三级。", "2应急组织机构及职责", "第3版", "2025年3月"):
        assert squeeze(expected) in text
    assert "\ufffd" not in text
    fonts = pdf_fonts(pdf, tmp_path)
    assert fonts and all("WenQuanYi" in font for font in fonts), fonts


def test_cover_and_page_breaks_start_new_pages(pdf_app, tmp_path):
    pdf = render_pdf("pdf_test/sample.html", sample_context())
    pages = pdf_text(pdf, tmp_path).split("\f")
    assert PLAN_TITLE in squeeze(pages[0]) and "总则" not in pages[0]  # the cover is a page of its own
    assert "1 总则" in pages[1]
    assert "2 应急组织机构及职责" in pages[2] and "1 总则" not in pages[2]  # .page-break


def test_a_100mm_box_prints_100mm_wide(pdf_app, tmp_path):
    """base.html's zoom undoes WebKit's print shrinking: lengths print true to size."""
    pdf = render_pdf("pdf_test/ruler.html", {})
    source = tmp_path / "ruler.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "144", "-f", "1", "-l", "1", "-gray", str(source), str(tmp_path / "ruler")],
                   check=True)
    raw = (tmp_path / "ruler-1.pgm").read_bytes()
    magic, size, _maxval, pixels = raw.split(b"\n", 3)
    assert magic == b"P5"
    width, height = map(int, size.split())
    longest = 0
    for y in range(height):
        row = pixels[y * width:(y + 1) * width]
        longest = max(longest, max((len(run) for run in re.findall(rb"[\x00-\x7f]+", row)), default=0))
    printed_mm = longest / 144 * 25.4
    assert 101 * 0.97 < printed_mm < 101 * 1.03, printed_mm  # 100 mm plus two 0.5 mm borders


def test_layout_options_are_checked(pdf_app):
    with pytest.raises(ValueError):
        render_pdf("pdf_test/sample.html", sample_context(), page_size="A4 --enable-local-file-access")
    with pytest.raises(ValueError):
        render_pdf("pdf_test/sample.html", sample_context(), orientation="Sideways")
    with pytest.raises(ValueError):
        render_pdf("pdf_test/sample.html", sample_context(), margin_top="1in; rm")
    with pytest.raises(ValueError, match="autoescape"):
        render_pdf("pdf_test/sample.txt", {})


# --- hardening ---------------------------------------------------------------------------

INJECTIONS = (
    '<meta name="pdfkit-enable-local-file-access" content="">',
    '<meta name="pdfkit-allow" content="/">',
    "<script>document.write('XSS-RAN')</script>",
    '<img src="file:///etc/passwd">',
    '<iframe src="http://127.0.0.1:9/frame"></iframe>',
    '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
)


def test_user_text_is_escaped_not_interpreted(pdf_app, tmp_path):
    user_text = "".join(INJECTIONS)
    html = render_pdf_html("pdf_test/sample.html", sample_context(user_text=user_text, plan_title=user_text))
    assert "<meta name=\"pdfkit" not in html and "<script>" not in html and "<iframe" not in html
    assert "&lt;script&gt;" in html

    pdf = render_pdf("pdf_test/sample.html", sample_context(user_text=user_text, plan_title=user_text))
    text = squeeze(pdf_text(pdf, tmp_path))
    for injection in INJECTIONS:  # shown as the text the user typed
        assert squeeze(injection) in text
    # The typed text only: the script never ran to write its marker on its own.
    assert text.count("XSS-RAN") == text.count("document.write('XSS-RAN')") > 0
    assert "root:" not in text


def _secret_file(tmp_path: Path) -> tuple[Path, str]:
    marker = "TOPSECRET-7f3a9c"
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{marker}\n")
    return secret, marker


def test_templates_cannot_read_local_files_even_through_pdfkit_meta_tags(pdf_app, tmp_path):
    secret, marker = _secret_file(tmp_path)
    html = render_pdf_html("pdf_test/local_file.html", {"path": str(secret)})
    assert '<meta name="pdfkit-enable-local-file-access"' in html  # raw, on purpose

    # Control: plain pdfkit reads those meta tags and wkhtmltopdf then shows the file.
    leaked = pdfkit.from_string(html, False, options={"quiet": ""})
    assert marker in pdf_text(leaked, tmp_path)

    pdf = render_pdf("pdf_test/local_file.html", {"path": str(secret)})
    text = pdf_text(pdf, tmp_path)
    assert "本地文件" in text
    assert marker not in text


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"REMOTE-CONTENT")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_nothing_is_fetched_over_the_network(pdf_app, tmp_path, http_server, caplog):
    port = http_server.server_address[1]
    context = {"base": f"http://127.0.0.1:{port}", "other_base": f"http://localhost:{port}"}
    html = render_pdf_html("pdf_test/remote.html", context)

    # Control: wkhtmltopdf on its own fetches what the template asks for.
    source = tmp_path / "remote.html"
    source.write_text(html, encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    subprocess.run(["wkhtmltopdf", "--quiet", str(source), str(tmp_path / "control.pdf")],
                   check=False, capture_output=True, timeout=60,
                   env={**environment, "QT_QPA_PLATFORM": "offscreen"})
    assert {"/style.css", "/image.png"} <= set(http_server.requests), http_server.requests
    http_server.requests.clear()

    pdf = render_pdf("pdf_test/remote.html", context)
    assert http_server.requests == []
    text = pdf_text(pdf, tmp_path)
    assert "正文仍然完整。" in text and "REMOTE-CONTENT" not in text


# --- failures ----------------------------------------------------------------------------

def _fake_wkhtmltopdf(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-wkhtmltopdf"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_wkhtmltopdf_errors_carry_its_stderr(pdf_app, tmp_path):
    pdf_app.config["WKHTMLTOPDF"] = _fake_wkhtmltopdf(tmp_path, "cat >/dev/null\necho 'Error: out of paper' >&2\nexit 2\n")
    with pytest.raises(PdfRenderError) as raised:
        render_pdf("pdf_test/sample.html", sample_context())
    assert raised.value.stderr == "Error: out of paper"
    assert "exit code 2" in str(raised.value)


def test_output_that_is_not_a_pdf_is_an_error(pdf_app, tmp_path):
    pdf_app.config["WKHTMLTOPDF"] = _fake_wkhtmltopdf(tmp_path, "cat >/dev/null\necho '%PDF-1.4 truncated'\n")
    with pytest.raises(PdfRenderError):
        render_pdf("pdf_test/sample.html", sample_context())


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return not re.search(r"^State:\s+[ZX]", status, re.MULTILINE)


def test_a_hanging_renderer_is_killed_with_its_children(pdf_app, tmp_path):
    child_pid = tmp_path / "child.pid"
    pdf_app.config["WKHTMLTOPDF"] = _fake_wkhtmltopdf(tmp_path, f"sleep 60 &\necho $! > {child_pid}\nwait\n")
    pdf_app.config["PDF_TIMEOUT_SECONDS"] = 1
    started = time.monotonic()
    with pytest.raises(PdfRenderError, match="did not finish within 1 seconds"):
        render_pdf("pdf_test/sample.html", sample_context())
    assert time.monotonic() - started < 15
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def test_missing_wkhtmltopdf_says_what_to_do(pdf_app, tmp_path):
    pdf_app.config["WKHTMLTOPDF"] = None
    with pytest.raises(PdfRenderError, match="WKHTMLTOPDF"):
        render_pdf("pdf_test/sample.html", sample_context())
    pdf_app.config["WKHTMLTOPDF"] = str(tmp_path / "nowhere" / "wkhtmltopdf")
    with pytest.raises(PdfRenderError):
        render_pdf("pdf_test/sample.html", sample_context())


def test_config_finds_wkhtmltopdf_on_path(app):
    assert app.config["WKHTMLTOPDF"] == (os.environ.get("WKHTMLTOPDF") or shutil.which("wkhtmltopdf"))


# --- the cache ---------------------------------------------------------------------------

def test_cached_pdf_builds_once_and_reuses(pdf_app):
    calls = []

    def build():
        calls.append(1)
        return render_pdf("pdf_test/sample.html", sample_context())

    first = cached_pdf("plan-12-v3-abc123", build)
    second = cached_pdf("plan-12-v3-abc123", build)
    assert first == second == Path(pdf_app.instance_path) / "pdf-cache" / "plan-12-v3-abc123.pdf"
    assert len(calls) == 1
    assert first.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in first.parent.iterdir()] == ["plan-12-v3-abc123.pdf"]  # no temporary files


@pytest.mark.parametrize("key", ["../escape", "a/b", "", ".hidden", "x" * 201, "plan 12", "a..b"])
def test_cache_keys_cannot_leave_the_cache(pdf_app, key):
    with pytest.raises(ValueError):
        cached_pdf(key, lambda: b"%PDF-1.4\n%%EOF")


def test_a_failed_build_leaves_nothing_behind(pdf_app):
    def build():
        raise PdfRenderError("boom")

    with pytest.raises(PdfRenderError):
        cached_pdf("plan-1-v1-x", build)
    with pytest.raises(PdfRenderError):
        cached_pdf("plan-1-v1-y", lambda: b"<html>not a pdf</html>")
    folder = Path(pdf_app.instance_path) / "pdf-cache"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_concurrent_builds_of_one_key_leave_one_whole_file(pdf_app):
    started = threading.Barrier(6)
    results: list[Path] = []
    versions = [b"%PDF-1.4\n" + bytes([65 + i]) * 2_000_000 + b"\n%%EOF\n" for i in range(6)]

    def worker(i):
        with pdf_app.app_context():
            def build():
                started.wait()
                return versions[i]
            results.append(cached_pdf("plan-7-v1-concurrent", build))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert results[0].read_bytes() in versions
    assert [p.name for p in results[0].parent.iterdir()] == ["plan-7-v1-concurrent.pdf"]


def test_readers_never_see_a_half_written_file(tmp_path):
    """write_atomic (used by the cache and the attachment store) replaces files in one step."""
    target = tmp_path / "doc.pdf"
    size = 4_000_000
    write_atomic(target, b"A" * size)
    stop = threading.Event()
    torn: list[int] = []

    def reader():
        while not stop.is_set():
            content = target.read_bytes()
            if len(content) != size or content.count(content[:1]) != size:
                torn.append(len(content))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            write_atomic(target, (b"B" if i % 2 == 0 else b"A") * size)
    finally:
        stop.set()
        thread.join()
    assert torn == []
    assert [p.name for p in tmp_path.iterdir()] == ["doc.pdf"]


def test_publication_and_acceptance_render_their_pdfs_ahead_through_the_queue(app, people, make_filing):
    """With PDF_PRERENDER (the default outside the tests) the worker renders the plan and the
    registration form as soon as they exist, so the first download is served from the cache."""
    from pathlib import Path

    from emergency.core.extensions import db
    from plans.filing import operations as filing_ops

    app.config["PDF_PRERENDER"] = True
    cache = Path(app.instance_path) / "pdf-cache"
    filing = make_filing(people["other"], by=people["officer"], title="乙酒店综合应急预案")
    assert [p.name.split("-v")[0] for p in cache.glob("plan-*.pdf")] == [f"plan-{filing.version_id}"]
    filing_ops.submit(people["other_enterprise"], filing, {})
    db.session.commit()
    filing_ops.accept(people["officer"], filing)
    db.session.commit()
    assert len(list(cache.glob(f"filing-{filing.id}-*.pdf"))) == 1
