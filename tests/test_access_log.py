"""Calendar-feed tokens (a feed URL is its own credential) never reach the access log: neither
the development server's (werkzeug) nor gunicorn's, started as the Procfile starts it."""
from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request

from .browser import live_server
from .processes import BIN, ROOT, kill, process_env, start, wait_for


def create_feed(client, token_for) -> str:
    """A county feed made through the API; its token."""
    feed = client.post("/api/v1/calendar-feeds", headers=token_for("duty"), json={"label": "值班室"})
    assert feed.status_code == 201, feed.get_json()
    return re.fullmatch(r".*/feeds/drills/([\w-]+)\.ics", feed.get_json()["url"]).group(1)


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def feed_requests(base_url: str, token: str) -> list[int]:
    """The feed by both URLs, a copy without .ics and one with a doubled slash (both 404)."""
    return [fetch(f"{base_url}{path}") for path in (
        f"/feeds/drills/{token}.ics", f"/api/v1/calendar-feeds/{token}.ics", f"/feeds/drills/{token}",
        f"/feeds/drills//{token}.ics")]


def test_the_development_server_logs_feed_requests_without_the_token(app, client, people, token_for, caplog,
                                                                       monkeypatch):
    token = create_feed(client, token_for)
    # The migrations' logging.config (run once per test session) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", False)
    with live_server(app) as base_url, caplog.at_level(logging.INFO, logger="werkzeug"):
        statuses = feed_requests(base_url, token)
    assert statuses[:2] == [200, 200] and statuses[2] in (404, 308)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len([line for line in lines if "GET /" in line]) >= 4, lines
    assert not any(token in line for line in lines), lines
    assert any('"GET /feeds/drills/[token].ics HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /api/v1/calendar-feeds/[token].ics HTTP/1.1" 200' in line for line in lines), lines


def test_gunicorn_as_the_procfile_starts_it_logs_feed_requests_without_the_token(app, client, people, token_for,
                                                                                   tmp_path):
    token = create_feed(client, token_for)
    command = next(line.split(":", 1)[1].strip() for line in (ROOT / "Procfile").read_text().splitlines()
                   if line.startswith("web:"))
    command = command.replace(".venv/bin/", f"{BIN}/")
    log = tmp_path / "web.log"
    web = start(["bash", "-c", f"exec {command}"], process_env(app, HOST="127.0.0.1", PORT="0", WEB_CONCURRENCY="1"),
                log)
    try:
        listening = wait_for(lambda: re.search(r"Listening at: (http://\S+)", log.read_text()), timeout=60,
                             what="gunicorn to listen")
        base_url = listening.group(1)
        statuses = feed_requests(base_url, token)
        assert statuses[:2] == [200, 200]
        wait_for(lambda: log.read_text().count(" /feeds/drills/") >= 3, timeout=30, what="the access-log lines")
    finally:
        kill(web)
    text = log.read_text()
    assert token not in text, text
    assert '"GET /feeds/drills/[token].ics HTTP/1.1" 200' in text, text
    assert '"GET /api/v1/calendar-feeds/[token].ics HTTP/1.1" 200' in text, text


def test_only_the_token_segment_is_redacted():
    from emergency.core.access_log import redact

    assert redact('"GET /feeds/drills/Ab-c_9.ics?x=1 HTTP/1.1" 200') == '"GET /feeds/drills/[token].ics?x=1 HTTP/1.1" 200'
    assert redact("Exception on /API/V1/calendar-feeds/Ab-c_9.ics [GET]") == (
        "Exception on /API/V1/calendar-feeds/[token].ics [GET]")
    assert redact('"https://yj.example.gov.cn/feeds/drills/Ab-c_9" "curl"') == (
        '"https://yj.example.gov.cn/feeds/drills/[token]" "curl"')
    # A feed's id is no secret: revoking feed 12 stays readable in the log.
    assert redact('"DELETE /api/v1/calendar-feeds/12 HTTP/1.1" 204') == '"DELETE /api/v1/calendar-feeds/12 HTTP/1.1" 204'
    assert redact('"GET /api/v1/calendar-feeds HTTP/1.1" 200') == '"GET /api/v1/calendar-feeds HTTP/1.1" 200'
