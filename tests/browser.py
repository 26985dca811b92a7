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


@contextmanager
def browser_page(app) -> Iterator[tuple]:
    from playwright.sync_api import sync_playwright

    with live_server(app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page.set_default_timeout(15_000)
            yield page, base_url
        finally:
            browser.close()
