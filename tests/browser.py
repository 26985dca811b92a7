"""Helpers for browser tests: serve the test app on a free local port and drive Debian's
Chromium through Playwright (no browser download: the system package is used)."""
from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: run `make test` (it installs it) or set CHROMIUM_PATH")
    return path


@contextmanager
def live_server(app) -> Iterator[str]:
    """Serve ``app`` from a thread; yields its base URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


#: Run in every document before its own scripts: keeps the Content-Security-Policy violations
#: the page reports (the browser blocked an inline script or style, or a foreign resource).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                              " at " + e.documentURI + (e.lineNumber ? ":" + e.lineNumber : ""));
});
"""


def csp_violations(page) -> list[str]:
    """The policy violations reported so far by the page's current document."""
    return page.evaluate("window.__cspViolations || []")


@contextmanager
def browser_page(app) -> Iterator[tuple]:
    """A Chromium page on the live app. Every browser test also checks that no page it opened
    broke the Content-Security-Policy (reported in the console) and no script failed."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with live_server(app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page.set_default_timeout(15_000)
            page.add_init_script(RECORD_CSP_VIOLATIONS)
            page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
                    if message.type == "error" and "Content Security Policy" in message.text else None)
            page.on("pageerror", lambda error: problems.append(f"{page.url}: script error {error}"))
            yield page, base_url
        finally:
            browser.close()
    assert not problems, problems
