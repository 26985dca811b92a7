"""PDF rendering: a Jinja template in ``templates/`` → HTML → PDF with wkhtmltopdf (pdfkit).

Debian's wkhtmltopdf is built on an unpatched Qt: no headers, footers, outline, table of
contents or document title, so layouts must not need them (``templates/pdf/base.html``).
Every call is hardened:

- only the options below are passed; pdfkit's ``meta_tag_prefix`` is a fresh random value per
  call, so no ``<meta name="pdfkit-…">`` in the content can add an option;
- JavaScript and plugins are off, local file access is off (the HTML goes in on stdin, CSS is
  inlined in the templates, fonts are the system's, chosen by family name);
- every network request goes to a proxy where nothing listens (``BLACKHOLE_PROXY``), host
  names included (``--proxy-hostname-lookup``), so nothing is fetched and nothing resolved;
- wkhtmltopdf runs with a minimal environment in a scratch directory and is killed (with its
  process group) after ``PDF_TIMEOUT_SECONDS``;
- templates must end in ``.html`` so that Jinja autoescapes every value put into them.

``cached_pdf`` keeps rendered PDFs under ``instance/pdf-cache/``, written atomically.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pdfkit
from flask import current_app, render_template

from emergency.core.files import write_atomic

logger = logging.getLogger(__name__)

#: Nothing listens on the discard port: every request the renderer makes is refused at once.
BLACKHOLE_PROXY = "http://127.0.0.1:9"
PAGE_SIZES = frozenset({"A3", "A4", "A5", "B5", "Letter", "Legal"})
ORIENTATIONS = frozenset({"Portrait", "Landscape"})
_LENGTH = re.compile(r"\d{1,3}(\.\d{1,2})?(mm|cm|in)")
_CACHE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class PdfRenderError(RuntimeError):
    """wkhtmltopdf is missing, failed, timed out or gave no PDF; ``stderr`` holds its output."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}\n{stderr}" if stderr else message)
        self.stderr = stderr


def render_pdf(
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    page_size: str = "A4",
    orientation: str = "Portrait",
    margin_top: str = "18mm",
    margin_right: str = "16mm",
    margin_bottom: str = "18mm",
    margin_left: str = "16mm",
) -> bytes:
    """Render ``templates/<template_name>`` with ``context`` and return the PDF's bytes.

    Needs an application context (no request context: workers render PDFs too).
    """
    html = render_pdf_html(template_name, context)
    return html_to_pdf(
        html, page_size=page_size, orientation=orientation, margin_top=margin_top,
        margin_right=margin_right, margin_bottom=margin_bottom, margin_left=margin_left,
    )


def render_pdf_html(template_name: str, context: dict[str, Any] | None = None) -> str:
    """The HTML ``render_pdf`` would convert (for previews and tests)."""
    if not template_name.endswith(".html"):
        raise ValueError(f"PDF templates must end in .html so that Jinja autoescapes them: {template_name!r}")
    return render_template(template_name, **(context or {}))


def html_to_pdf(
    html: str,
    *,
    page_size: str = "A4",
    orientation: str = "Portrait",
    margin_top: str = "18mm",
    margin_right: str = "16mm",
    margin_bottom: str = "18mm",
    margin_left: str = "16mm",
) -> bytes:
    """Convert HTML made by our own templates to PDF. Never pass HTML from users here."""
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {sorted(ORIENTATIONS)}")
    margins = {"--margin-top": margin_top, "--margin-right": margin_right,
               "--margin-bottom": margin_bottom, "--margin-left": margin_left}
    for name, value in margins.items():
        if not _LENGTH.fullmatch(value):
            raise ValueError(f"{name} must be a length such as 15mm, got {value!r}")

    binary = current_app.config.get("WKHTMLTOPDF")
    if not binary:
        raise PdfRenderError("wkhtmltopdf was not found: install it (scripts/system-deps.sh) or set WKHTMLTOPDF")
    timeout = float(current_app.config.get("PDF_TIMEOUT_SECONDS", 60))

    options: dict[str, str] = {
        "--log-level": "warn",
        "--encoding": "utf-8",
        "--page-size": page_size,
        "--orientation": orientation,
        **margins,
        "--disable-javascript": "",
        "--disable-plugins": "",
        "--disable-local-file-access": "",
        "--proxy": BLACKHOLE_PROXY,
        "--proxy-hostname-lookup": "",
        "--load-error-handling": "abort",
        "--load-media-error-handling": "ignore",
    }

    with tempfile.TemporaryDirectory(prefix="wkhtmltopdf-") as scratch:
        environment = _environment(scratch)
        try:
            configuration = pdfkit.configuration(
                wkhtmltopdf=binary,
                meta_tag_prefix=f"pdfkit-{secrets.token_hex(16)}-",
                environ=environment,
            )
        except OSError as exc:
            raise PdfRenderError(f"wkhtmltopdf cannot be used: {binary}", str(exc)) from exc
        kit = pdfkit.PDFKit(html, "string", options=options, configuration=configuration, verbose=True)
        if set(kit.options) != set(options):  # cannot happen with a random prefix; never trust it
            raise PdfRenderError("the page tried to set wkhtmltopdf options through meta tags")
        # pdfkit builds the command ("-" "-": HTML on stdin, PDF on stdout); it runs it with no
        # timeout, so we run it ourselves.
        stdout, stderr, returncode = _run(kit.command(), html.encode("utf-8"), environment, scratch, timeout)

    complete = stdout.startswith(b"%PDF-") and b"%%EOF" in stdout[-1024:]
    if returncode == 0 and complete:
        if stderr:
            logger.info("wkhtmltopdf: %s", stderr)
        return stdout
    if returncode == 1 and complete and "due to network error" in stderr:
        # A blocked request (network or local file) makes wkhtmltopdf exit 1 after writing
        # the whole PDF. The block is the point; the page is complete without the resource.
        logger.warning("PDF rendered without the resources it may not load: %s", stderr)
        return stdout
    raise PdfRenderError(f"wkhtmltopdf failed (exit code {returncode})", stderr)


def cached_pdf(key: str, build: Callable[[], bytes]) -> Path:
    """The PDF stored under ``key`` in ``instance/pdf-cache/``, built by ``build()`` if missing.

    Keys name the content (``plan-12-v3-<content hash>``), so a key's file never changes.
    The file is written to a temporary name and renamed, so a reader never sees half a PDF;
    two workers building the same key at once both write whole files, and one wins.
    """
    if not _CACHE_KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"a PDF cache key is letters, digits, '.', '_' and '-' only: {key!r}")
    folder = Path(current_app.instance_path) / "pdf-cache"
    path = folder / f"{key}.pdf"
    if path.is_file():
        return path
    pdf = build()
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
        raise PdfRenderError(f"building the PDF for {key!r} returned no PDF")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(path, pdf)
    return path


def _environment(scratch: str) -> dict[str, str]:
    """Nothing inherited but PATH: no proxy variables, no display, a private home."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": scratch,
        "TMPDIR": scratch,
        "XDG_RUNTIME_DIR": scratch,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
    }


def _run(args: list[str], html: bytes, environment: dict[str, str], scratch: str,
         timeout: float) -> tuple[bytes, str, int]:
    try:
        process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=environment, cwd=scratch, start_new_session=True,
        )
    except OSError as exc:
        raise PdfRenderError(f"wkhtmltopdf cannot be started: {args[0]}", str(exc)) from exc
    try:
        stdout, stderr = process.communicate(html, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: nothing it started survives
        _out, stderr = process.communicate()
        raise PdfRenderError(
            f"wkhtmltopdf did not finish within {timeout:g} seconds and was stopped",
            stderr.decode("utf-8", "replace").strip(),
        ) from None
    return stdout, stderr.decode("utf-8", "replace").strip(), process.returncode


__all__ = ["PdfRenderError", "cached_pdf", "html_to_pdf", "render_pdf", "render_pdf_html"]
