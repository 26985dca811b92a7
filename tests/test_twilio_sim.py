"""The local Twilio simulator, exercised through the real ``twilio`` client (no mocks)."""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.twilio.simulator import TwilioSimulator, count_segments

FROM = "+15005550006"
MOBILE = "+8613800138000"
SID_RE = re.compile(r"^SM[0-9a-f]{32}$")


# ------------------------------------------------------------------------------------ fixtures
class Receiver:
    """A tiny webhook endpoint that validates X-Twilio-Signature like a real app would."""

    def __init__(self, auth_token: str, status: int = 200):
        self.validator = RequestValidator(auth_token)
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
                url = f"http://127.0.0.1:{receiver.port}{self.path}"
                signature = self.headers.get("X-Twilio-Signature", "")
                with receiver.lock:
                    receiver.requests.append({
                        "path": self.path, "params": params,
                        "valid": receiver.validator.validate(url, params, signature),
                    })
                body = b"<Response/>"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/sms/status") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def statuses(self, sid: str) -> list[str]:
        with self.lock:
            return [r["params"]["MessageStatus"] for r in self.requests
                    if r["params"].get("MessageSid") == sid]

    def for_sid(self, sid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["params"].get("MessageSid") == sid]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sim() -> Iterator[TwilioSimulator]:
    with TwilioSimulator() as s:
        yield s


@pytest.fixture
def client(sim: TwilioSimulator) -> Client:
    c = Client(sim.account_sid, sim.auth_token)
    c.api.base_url = sim.url
    return c


@pytest.fixture
def receiver(sim: TwilioSimulator) -> Iterator[Receiver]:
    r = Receiver(sim.auth_token)
    yield r
    r.close()


def raw_post(sim: TwilioSimulator, data: bytes, token: str | None = None):
    auth = base64.b64encode(f"{sim.account_sid}:{token or sim.auth_token}".encode()).decode()
    req = urllib.request.Request(sim.url + sim.messages_path, data=data, method="POST",
                                 headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


# ------------------------------------------------------------------------------------ create
def test_create_returns_a_twilio_message_resource(sim, client):
    before = datetime.now(UTC).replace(microsecond=0)
    msg = client.messages.create(to=MOBILE, from_=FROM, body="Drill at 9:00",
                                 status_callback="http://127.0.0.1:9/cb")
    assert SID_RE.match(msg.sid)
    assert msg.account_sid == sim.account_sid
    assert (msg.to, msg.from_, msg.body) == (MOBILE, FROM, "Drill at 9:00")
    assert msg.status == "queued"
    assert msg.num_segments == "1"
    assert msg.num_media == "0"
    assert msg.direction == "outbound-api"
    assert msg.api_version == "2010-04-01"
    assert msg.price is None and msg.error_code is None and msg.error_message is None
    assert msg.messaging_service_sid is None
    assert msg.uri == f"/2010-04-01/Accounts/{sim.account_sid}/Messages/{msg.sid}.json"
    assert isinstance(msg.date_created, datetime) and msg.date_created >= before
    # Like Twilio: date_sent is set when the message leaves the queue, not on acceptance.
    assert msg.date_sent is None and msg.date_updated is not None

    recorded = sim.messages
    assert len(recorded) == 1
    assert recorded[0]["sid"] == msg.sid
    assert recorded[0]["status_callback"] == "http://127.0.0.1:9/cb"
    assert recorded[0]["accepted_at"] <= time.time()


def test_raw_json_matches_twilio_shape(sim):
    status, _, body = raw_post(sim, b"To=%2B8613800138000&From=%2B15005550006&Body=hi")
    assert status == 201
    assert re.match(r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$", body["date_created"])
    for key in ("sid", "account_sid", "to", "from", "messaging_service_sid", "body", "status",
                "num_segments", "num_media", "direction", "api_version", "price",
                "error_code", "error_message", "uri", "date_created", "date_updated",
                "date_sent"):
        assert key in body


def test_messaging_service_sid_is_accepted(sim, client):
    service = "MG" + "a" * 32
    msg = client.messages.create(to=MOBILE, messaging_service_sid=service, body="hi")
    assert msg.status == "accepted"
    assert msg.messaging_service_sid == service
    assert msg.from_ is None


@pytest.mark.parametrize(("body", "segments"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("中" * 70, 1), ("中" * 71, 2), ("中" * 134, 2), ("中" * 135, 3),
    ("a" * 69 + "中", 1), ("a" * 70 + "中", 2),  # one non-GSM char switches to UCS-2
])
def test_segment_counts(client, body, segments):
    assert client.messages.create(to=MOBILE, from_=FROM, body=body).num_segments == str(segments)


def test_segment_count_edge_cases():
    assert count_segments("{" * 80) == 1  # extension chars take two septets
    assert count_segments("{" * 81) == 2
    assert count_segments("€" + "a" * 158) == 1
    assert count_segments("😀" * 35) == 1  # surrogate pairs: two UCS-2 units
    assert count_segments("😀" * 36) == 2
    assert count_segments("【应急】" + "演" * 66) == 1


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(("to", "setup", "code"), [
    ("12345", None, 21211),
    ("+86abc", None, 21211),
    ("+8613800000001", "invalid_numbers", 21211),
    ("+862512345678", "landline_numbers", 21614),
    ("+8613900000000", "opted_out_numbers", 21610),
])
def test_recipient_errors(sim, client, to, setup, code):
    if setup:
        getattr(sim, setup).add(to)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=to, from_=FROM, body="hi")
    assert err.value.status == 400
    assert err.value.code == code
    assert sim.messages == []


def test_missing_from_and_body(sim, client):
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=MOBILE, body="hi")
    assert (err.value.status, err.value.code) == (400, 21603)
    status, _, body = raw_post(sim, b"To=%2B8613800138000&From=%2B15005550006")
    assert (status, body["code"], body["status"]) == (400, 21602, 400)
    assert body["more_info"] == "https://www.twilio.com/docs/errors/21602"


def test_wrong_credentials_get_401(sim):
    bad = Client(sim.account_sid, "not-the-token")
    bad.api.base_url = sim.url
    with pytest.raises(TwilioRestException) as err:
        bad.messages.create(to=MOBILE, from_=FROM, body="hi")
    assert (err.value.status, err.value.code) == (401, 20003)
    assert sim.messages == []


def test_fail_next_429_with_retry_after(sim, client):
    sim.fail_next(2)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=MOBILE, from_=FROM, body="hi")
    assert (err.value.status, err.value.code) == (429, 20429)
    status, headers, body = raw_post(sim, b"To=%2B8613800138000&From=%2B15005550006&Body=x")
    assert (status, body["code"]) == (429, 20429)
    assert headers["Retry-After"] == "1"
    assert client.messages.create(to=MOBILE, from_=FROM, body="hi").status == "queued"
    assert len(sim.messages) == 1

    sim.fail_next(1, status=503, code=None)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=MOBILE, from_=FROM, body="hi")
    assert (err.value.status, err.value.code) == (503, 503)


def test_failure_rate_is_deterministic(sim, client):
    def outcomes() -> list[object]:
        result: list[object] = []
        for _ in range(40):
            try:
                client.messages.create(to=MOBILE, from_=FROM, body="hi")
                result.append("ok")
            except TwilioRestException as exc:
                result.append((exc.status, exc.code))
        return result

    sim.set_failure_rate(0.3, seed=7)
    first = outcomes()
    sim.set_failure_rate(0.3, seed=7)
    assert outcomes() == first
    failures = [o for o in first if o != "ok"]
    assert 4 <= len(failures) <= 20
    assert set(failures) <= {(429, 20429), (500, 500)}
    sim.set_failure_rate(0)
    assert client.messages.create(to=MOBILE, from_=FROM, body="hi").status == "queued"


def test_drop_connection_records_but_never_answers(sim, client):
    sim.drop_connection_next(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.messages.create(to=MOBILE, from_=FROM, body="lost ack")
    assert [m["body"] for m in sim.messages] == ["lost ack"]  # the provider did accept it
    client.messages.create(to=MOBILE, from_=FROM, body="next")
    assert sim.count_by_to() == {MOBILE: 2}


# ------------------------------------------------------------------------------------ read
def test_list_filter_paging_and_fetch(sim, client):
    other = "+8613900000001"
    sids = [client.messages.create(to=MOBILE, from_=FROM, body=f"m{i}").sid for i in range(5)]
    for i in range(3):
        client.messages.create(to=other, from_=FROM, body=f"o{i}")

    listed = client.messages.list(to=MOBILE)
    assert [m.sid for m in listed] == sids[::-1]  # newest first
    assert len(client.messages.list(to=MOBILE, limit=2)) == 2
    streamed = list(client.messages.stream(page_size=3))  # 8 messages over 3 pages
    assert len({m.sid for m in streamed}) == 8
    assert len(client.messages.list(to=other, page_size=1)) == 3

    hour = timedelta(hours=1)
    assert sim.wait_for_callbacks(10)  # every message has left the queue: each has a date_sent
    assert len(client.messages.list(to=MOBILE, date_sent_after=datetime.now(UTC) - hour)) == 5
    assert client.messages.list(date_sent_after=datetime.now(UTC) + hour) == []
    assert client.messages.list(date_sent_before=datetime.now(UTC) - hour) == []

    fetched = client.messages(sids[2]).fetch()
    assert (fetched.sid, fetched.body, fetched.to) == (sids[2], "m2", MOBILE)
    with pytest.raises(TwilioRestException) as err:
        client.messages("SM" + "0" * 32).fetch()
    assert (err.value.status, err.value.code) == (404, 20404)
    assert client.api.accounts(sim.account_sid).fetch().sid == sim.account_sid


def test_inspection_helpers_and_reset(sim, client):
    client.messages.create(to=MOBILE, from_=FROM, body="a")
    client.messages.create(to=MOBILE, from_=FROM, body="b")
    client.messages.create(to="+8613900000002", from_=FROM, body="c")
    assert [m["body"] for m in sim.messages_to(MOBILE)] == ["a", "b"]
    assert sim.count_by_to() == {MOBILE: 2, "+8613900000002": 1}
    sim.opted_out_numbers.add(MOBILE)
    sim.fail_next(5)
    sim.reset()
    assert sim.messages == [] and sim.count_by_to() == {}
    assert client.messages.create(to=MOBILE, from_=FROM, body="d").status == "queued"


def test_latency_and_concurrency(sim, client):
    """Requests are served concurrently, not one after another: while each waits its latency,
    the others are being served too (counted by the simulator, not timed)."""
    sim.latency = 0.5
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def send(i: int) -> None:
        c = Client(sim.account_sid, sim.auth_token)
        c.api.base_url = sim.url
        start.wait()
        try:
            c.messages.create(to=f"+86138000000{i:02d}", from_=FROM, body="x")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(sim.messages) == 16
    assert sim.max_in_flight >= 2


def test_stopped_simulator_refuses_connections():
    with TwilioSimulator() as s:
        url = s.url
    c = Client(s.account_sid, s.auth_token)
    c.api.base_url = url
    with pytest.raises(requests.exceptions.ConnectionError):
        c.messages.create(to=MOBILE, from_=FROM, body="hi")


# ------------------------------------------------------------------------------------ webhooks
def test_status_callbacks_sent_then_delivered_signed(sim, client, receiver):
    msg = client.messages.create(to=MOBILE, from_=FROM, body="hi",
                                 status_callback=receiver.url("/sms/status?org=7"))
    assert sim.wait_for_callbacks(5)
    assert receiver.statuses(msg.sid) == ["sent", "delivered"]
    calls = receiver.for_sid(msg.sid)
    assert all(c["valid"] for c in calls)
    params = calls[-1]["params"]
    assert params["SmsSid"] == msg.sid and params["SmsStatus"] == "delivered"
    assert (params["AccountSid"], params["From"], params["To"]) == (sim.account_sid, FROM, MOBILE)
    assert params["ApiVersion"] == "2010-04-01"
    assert "ErrorCode" not in params
    assert calls[0]["path"] == "/sms/status?org=7"
    assert [r["http_status"] for r in sim.callbacks_for(msg.sid)] == [200, 200]
    assert client.messages(msg.sid).fetch().status == "delivered"


def test_final_status_override_undelivered(sim, client, receiver):
    bad = "+8613700000000"
    sim.final_status_for[bad] = ("undelivered", 30003)
    sim.final_status_for["+8613700000001"] = ("failed", 30008)
    a = client.messages.create(to=bad, from_=FROM, body="hi", status_callback=receiver.url())
    b = client.messages.create(to="+8613700000001", from_=FROM, body="hi",
                               status_callback=receiver.url())
    ok = client.messages.create(to=MOBILE, from_=FROM, body="hi", status_callback=receiver.url())
    assert sim.wait_for_callbacks(5)
    assert receiver.statuses(a.sid) == ["sent", "undelivered"]
    assert receiver.for_sid(a.sid)[-1]["params"]["ErrorCode"] == "30003"
    assert receiver.statuses(b.sid) == ["sent", "failed"]
    assert receiver.for_sid(b.sid)[-1]["params"]["ErrorCode"] == "30008"
    assert receiver.statuses(ok.sid) == ["sent", "delivered"]
    assert all(r["valid"] for r in receiver.requests)
    fetched = client.messages(a.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


def test_on_demand_duplicate_and_out_of_order_callbacks(sim, client, receiver):
    msg = client.messages.create(to=MOBILE, from_=FROM, body="hi", status_callback=receiver.url())
    assert sim.wait_for_callbacks(5)
    assert sim.send_status_callback(msg.sid, "delivered") == 200  # duplicate
    assert sim.send_status_callback(msg.sid, "sent") == 200  # late, out of order
    assert sim.send_status_callback(msg.sid, "failed", 30008, url=receiver.url("/other")) == 200
    assert receiver.statuses(msg.sid) == ["sent", "delivered", "delivered", "sent", "failed"]
    assert all(r["valid"] for r in receiver.requests)
    assert receiver.requests[-1]["path"] == "/other"
    assert client.messages(msg.sid).fetch().status == "delivered"  # on-demand ones don't mutate


def test_callback_results_record_receiver_errors(sim, client, receiver):
    receiver.status = 500
    msg = client.messages.create(to=MOBILE, from_=FROM, body="hi", status_callback=receiver.url())
    assert sim.wait_for_callbacks(5)
    assert [r["http_status"] for r in sim.callbacks_for(msg.sid)] == [500, 500]


def test_callbacks_can_be_disabled_and_delayed(receiver):
    with TwilioSimulator(callbacks_enabled=False) as quiet:
        c = Client(quiet.account_sid, quiet.auth_token)
        c.api.base_url = quiet.url
        c.messages.create(to=MOBILE, from_=FROM, body="hi", status_callback=receiver.url())
        assert quiet.wait_for_callbacks(1)
        assert quiet.callback_results == []
    with TwilioSimulator(callback_delay=0.2) as slow:
        r = Receiver(slow.auth_token)
        try:
            c = Client(slow.account_sid, slow.auth_token)
            c.api.base_url = slow.url
            msg = c.messages.create(to=MOBILE, from_=FROM, body="hi", status_callback=r.url())
            time.sleep(0.1)
            assert r.statuses(msg.sid) == []
            assert slow.wait_for_callbacks(3)
            assert r.statuses(msg.sid) == ["sent", "delivered"]
            assert all(x["valid"] for x in r.requests)
        finally:
            r.close()


def test_inbound_webhook_is_signed(sim, receiver):
    status, body = sim.send_inbound(receiver.url("/sms/inbound"), "+8613800138000", "收到 TD")
    assert (status, body) == (200, "<Response/>")
    req = receiver.requests[-1]
    assert req["valid"]
    p = req["params"]
    assert (p["From"], p["Body"], p["To"], p["NumMedia"]) == ("+8613800138000", "收到 TD", FROM, "0")
    assert p["AccountSid"] == sim.account_sid and p["MessageSid"].startswith("SM")
    url = receiver.url("/sms/inbound")
    assert RequestValidator(sim.auth_token).validate(url, p, sim.sign(url, p))
    assert not RequestValidator("another-token").validate(url, p, sim.sign(url, p))


def test_a_queued_message_has_no_date_sent_to_filter_on():
    """Twilio lists a message it still holds in its queue by To, but not by DateSent."""
    with TwilioSimulator(callbacks_enabled=False) as sim:
        client = Client(sim.account_sid, sim.auth_token)
        client.api.base_url = sim.url
        sid = client.messages.create(to=MOBILE, from_=FROM, body="queued").sid
        assert [m.sid for m in client.messages.list(to=MOBILE)] == [sid]
        assert client.messages.list(to=MOBILE, date_sent_after=datetime.now(UTC) - timedelta(hours=1)) == []
