"""A local, Twilio-compatible HTTP server for tests and benchmarks (pure standard library).

Point the real ``twilio`` client at it::

    with TwilioSimulator(latency=0.02) as sim:
        client = twilio.rest.Client(sim.account_sid, sim.auth_token)
        client.api.base_url = sim.url
        msg = client.messages.create(to="+8613800138000", from_="+15005550006", body="你好",
                                     status_callback="http://127.0.0.1:5000/sms/status")

Implemented (Programmable Messaging, API version 2010-04-01):

* ``POST /2010-04-01/Accounts/{sid}/Messages.json``   create (form encoded, like Twilio)
* ``GET  /2010-04-01/Accounts/{sid}/Messages.json``   list, with To, From, DateSent,
  DateSent>, DateSent<, PageSize, Page, PageToken, newest first, Twilio page JSON
* ``GET  /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json``   fetch
* ``GET  /2010-04-01/Accounts/{sid}.json``   fetch the account (credential checks)

Every request must carry HTTP Basic auth ``account_sid:auth_token`` (401 / 20003 otherwise).
Accepted messages are recorded; a background worker then moves each one to ``sent`` and to
its final status (``delivered`` unless overridden in ``final_status_for``) and POSTs signed
(X-Twilio-Signature) status callbacks to its StatusCallback URL. Failure injection:
``fail_next``, ``set_failure_rate``, ``drop_connection_next``, ``hold_next_create`` (a
request held in flight until released), ``invalid_numbers``, ``landline_numbers``,
``opted_out_numbers``, runtime ``latency``. Like Twilio, ``date_sent`` is empty while a
message is queued (set when it moves to ``sent``), so DateSent filters do not list it.

Run standalone: ``python -m tests.fakes.twilio.simulator serve --port 8765`` or measure throughput with
``python bench/twilio_client.py --concurrency 16 --latency 0.02``.
"""
from __future__ import annotations

import base64
import heapq
import itertools
import json
import random
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from socketserver import StreamRequestHandler
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
DEFAULT_FROM = "+15005550006"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
MAX_BODY_CHARS = 1600

# --------------------------------------------------------------------------------------------
# Segment counting (GSM 03.38 default alphabet + extension table; otherwise UCS-2)
# --------------------------------------------------------------------------------------------
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def _pack(units: list[int], single: int, per_part: int) -> int:
    """Number of parts for a list of per-character unit sizes (characters are never split)."""
    total = sum(units)
    if total <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts += 1
            used = 0
        used += size
    return parts


def is_gsm7(body: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body)


def count_segments(body: str) -> int:
    """Twilio's num_segments: GSM-7 160 / 153 per part, else UCS-2 70 / 67 per part."""
    if not body:
        return 1
    if is_gsm7(body):
        return _pack([2 if ch in GSM7_EXTENSION else 1 for ch in body], 160, 153)
    # UCS-2/UTF-16 code units: characters outside the BMP (emoji) take a surrogate pair.
    return _pack([2 if ord(ch) > 0xFFFF else 1 for ch in body], 70, 67)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _rfc2822(dt: datetime) -> str:
    return format_datetime(dt)  # "Tue, 02 Jun 2026 08:00:00 +0000", like Twilio


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _error(status: int, code: int | None, message: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"message": message, "status": status}
    if code is not None:
        payload["code"] = code
        payload["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
    else:
        payload["more_info"] = "https://www.twilio.com/docs/errors"
    return payload


DEFAULT_ERROR_MESSAGES = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _parse_filter_date(value: str, upper: bool) -> datetime | None:
    """Twilio accepts YYYY-MM-DD or ISO 8601 datetimes for the DateSent filters."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if upper else day
        dt = datetime.fromisoformat(value)
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        return None


class _Message:
    __slots__ = ("accepted_at", "params", "resource", "sent_at", "seq", "status_callback")

    def __init__(self, seq: int, resource: dict, status_callback: str | None,
                 params: dict[str, str], sent_at: datetime | None):
        self.seq = seq
        self.resource = resource
        self.status_callback = status_callback
        self.accepted_at = time.time()
        self.params = params
        self.sent_at = sent_at

    def snapshot(self) -> dict[str, Any]:
        data = dict(self.resource)
        data["status_callback"] = self.status_callback
        data["accepted_at"] = self.accepted_at
        data["params"] = dict(self.params)
        return data


class _DropConnection(Exception):
    pass


class _Hold:
    """A create request to one number, held in flight: received, not yet answered or recorded."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def wait_arrived(self, timeout: float = 30.0) -> bool:
        return self.arrived.wait(timeout)


# --------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, handler, sim: TwilioSimulator):
        self.sim = sim
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(StreamRequestHandler):
    """A lean HTTP/1.1 keep-alive handler (http.server's email-based header parsing is slow)."""

    disable_nagle_algorithm = True
    rbufsize = 64 * 1024
    server: _Server

    def handle(self) -> None:
        try:
            while self._handle_one():
                pass
        except (ConnectionError, TimeoutError, OSError):
            pass

    def _handle_one(self) -> bool:
        line = self.rfile.readline(65537)
        if not line:
            return False
        try:
            method, target, version = line.decode("latin-1").split()
        except ValueError:
            self._write(400, _error(400, None, "Bad request line"), None, "GET", close=True)
            return False
        headers: dict[str, str] = {}
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        conn_hdr = headers.get("connection", "").lower()
        close = conn_hdr == "close" or (version == "HTTP/1.0" and conn_hdr != "keep-alive")
        length = int(headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            return False  # the client died mid-request: like any server, ignore the truncated request
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True) if raw else {}
            status, payload, extra = self.server.sim._handle(method, target, headers, form)
        except _DropConnection:
            return False  # accepted and recorded, but the client never hears back
        except Exception as exc:  # noqa: BLE001 - keep the server alive on simulator bugs
            status, payload, extra = 500, _error(500, 20500, f"Simulator error: {exc!r}"), None
        self._write(status, payload, extra, method, close)
        return not close

    def _write(self, status: int, payload: Any, headers: dict[str, str] | None, method: str,
               close: bool) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        # One write per response (status line + headers + body): separate small writes would
        # hit Nagle + delayed-ACK stalls (~40 ms) on keep-alive connections.
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
            f"Date: {formatdate(usegmt=True)}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}",
            f"Twilio-Request-Id: RQ{secrets.token_hex(16)}",
        ]
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if method == "HEAD" else head + body)


_REASONS = {s.value: s.phrase for s in HTTPStatus}


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------
class TwilioSimulator:
    """A local Twilio REST API (Messages) with failure injection and signed webhooks."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        latency: float = 0.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        callbacks_enabled: bool = True,
        callback_delay: float = 0.0,
        callback_timeout: float = 5.0,
        default_from: str = DEFAULT_FROM,
        retry_after: int = 1,
        invalid_numbers: Iterable[str] = (),
        landline_numbers: Iterable[str] = (),
        opted_out_numbers: Iterable[str] = (),
        final_status_for: dict[str, tuple[str, int | None]] | None = None,
    ):
        self.account_sid = account_sid or _new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.latency = float(latency)
        #: The most requests the simulator was serving at the same moment (concurrency proof).
        self.max_in_flight = 0
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self.host = host
        self.port = port
        self.callbacks_enabled = callbacks_enabled
        self.callback_delay = float(callback_delay)
        self.callback_timeout = float(callback_timeout)
        self.default_from = default_from
        self.retry_after = retry_after
        # Mutable per-number behaviour (plain sets/dicts; mutate before sending).
        self.invalid_numbers: set[str] = set(invalid_numbers)
        self.landline_numbers: set[str] = set(landline_numbers)
        self.opted_out_numbers: set[str] = set(opted_out_numbers)
        self.final_status_for: dict[str, tuple[str, int | None]] = dict(final_status_for or {})

        self._lock = threading.Lock()
        self._messages: list[_Message] = []
        self._by_sid: dict[str, _Message] = {}
        self._seq = itertools.count(1)
        self._fail_queue: list[tuple[int, int | None, str | None]] = []
        self._failure_rate = 0.0
        self._failure_choices: tuple[tuple[int, int | None], ...] = ((429, 20429), (500, None))
        self._rng = random.Random(0)
        self._drop_next = 0
        self._holds: dict[str, _Hold] = {}
        #: Every message-create request received, whatever its answer (the SMS bookkeeping's
        #: attempts are checked against it).
        self.create_requests = 0
        self._expected_auth = self._auth_header(self.account_sid, self.auth_token)
        self._validator = RequestValidator(self.auth_token)

        self._callback_results: list[dict[str, Any]] = []
        self._cb_cond = threading.Condition()
        self._cb_heap: list[tuple[float, int, str, int | None]] = []  # (due, seq, sid, step)
        self._cb_inflight = 0
        self._cb_seq = itertools.count()
        self._cb_stop = False

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self.worker_errors: list[str] = []  # unexpected exceptions in the callback worker

    # ---------------------------------------------------------------- lifecycle
    @staticmethod
    def _auth_header(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def start(self) -> TwilioSimulator:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"twilio-sim-{self.port}", daemon=True)
        self._thread.start()
        with self._cb_cond:
            self._cb_stop = False
        self._worker = threading.Thread(target=self._callback_worker,
                                        name=f"twilio-sim-callbacks-{self.port}", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_all_connections()
        with self._cb_cond:
            self._cb_stop = True
            self._cb_cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    # ---------------------------------------------------------------- failure injection
    def fail_next(self, n: int = 1, status: int = 429, code: int | None = 20429,
                  message: str | None = None) -> None:
        """The next ``n`` message creates fail with ``status`` and a Twilio error body."""
        with self._lock:
            self._fail_queue.extend([(status, code, message)] * n)

    def set_failure_rate(self, rate: float,
                         choices: Iterable[tuple[int, int | None]] = ((429, 20429), (500, None)),
                         seed: int = 0) -> None:
        """Fail that fraction of creates; a seeded RNG makes the sequence deterministic."""
        with self._lock:
            self._failure_rate = float(rate)
            self._failure_choices = tuple(tuple(c) for c in choices)  # type: ignore[misc]
            self._rng = random.Random(seed)

    def drop_connection_next(self, n: int = 1) -> None:
        """The next ``n`` creates are accepted and recorded, then the socket is closed unanswered."""
        with self._lock:
            self._drop_next += n

    def hold_next_create(self, to: str) -> _Hold:
        """Hold the next create request to ``to`` in flight (as a provider busy with it would)
        until ``release()``: it is recorded and answered only then."""
        hold = _Hold()
        with self._lock:
            self._holds[to] = hold
        return hold

    def reset(self) -> None:
        """Forget messages, callbacks, pending callbacks, failure injection and number lists."""
        with self._lock:
            self._messages.clear()
            self._by_sid.clear()
            self._fail_queue.clear()
            self._failure_rate = 0.0
            self._drop_next = 0
            self.create_requests = 0
            self.invalid_numbers.clear()
            self.landline_numbers.clear()
            self.opted_out_numbers.clear()
            self.final_status_for.clear()
        with self._cb_cond:
            self._cb_heap.clear()
            self._callback_results.clear()
            self._cb_cond.notify_all()

    # ---------------------------------------------------------------- inspection
    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages, oldest first (resource fields + status_callback, accepted_at, params)."""
        with self._lock:
            return [m.snapshot() for m in self._messages]

    def messages_to(self, number: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m.snapshot() for m in self._messages if m.resource["to"] == number]

    def count_by_to(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(m.resource["to"] for m in self._messages))

    def get_message(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            msg = self._by_sid.get(sid)
            return msg.snapshot() if msg else None

    @property
    def callback_results(self) -> list[dict[str, Any]]:
        """One dict per callback POST: sid, url, status, error_code, params, http_status,
        response_body, error (exception text or None), time."""
        with self._cb_cond:
            return [dict(r) for r in self._callback_results]

    def callbacks_for(self, sid: str) -> list[dict[str, Any]]:
        return [r for r in self.callback_results if r["sid"] == sid]

    def wait_for_messages(self, n: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._messages) >= n:
                    return True
            time.sleep(0.005)
        with self._lock:
            return len(self._messages) >= n

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """Block until every scheduled status callback has been sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cb_cond:
            while self._cb_heap or self._cb_inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cb_cond.wait(remaining)
        return True

    # ---------------------------------------------------------------- webhooks
    def sign(self, url: str, params: dict[str, str]) -> str:
        return self._validator.compute_signature(url, params)

    def _post_form(self, url: str, params: dict[str, str]) -> tuple[int | None, str, str | None]:
        data = urlencode(params).encode("utf-8")
        req = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Twilio-Signature": self.sign(url, params),
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        })
        try:
            with urllib.request.urlopen(req, timeout=self.callback_timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace"), None
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace") if exc.fp else ""
            return exc.code, body, None
        except (urllib.error.URLError, OSError) as exc:
            return None, "", repr(exc)

    def status_callback_params(self, sid: str, status: str,
                               error_code: int | None = None) -> dict[str, str]:
        with self._lock:
            msg = self._by_sid.get(sid)
            res = dict(msg.resource) if msg else {}
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": res.get("from") or self.default_from,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": res.get("to") or "",
        }
        if res.get("messaging_service_sid"):
            params["MessagingServiceSid"] = res["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def send_status_callback(self, sid: str, status: str, error_code: int | None = None,
                             url: str | None = None) -> int | None:
        """Synchronously POST one signed status callback (does not change the stored message).

        ``url`` defaults to the message's StatusCallback. Returns the receiver's HTTP status
        (None if the connection failed); the attempt is recorded in ``callback_results``."""
        if url is None:
            with self._lock:
                msg = self._by_sid.get(sid)
                url = msg.status_callback if msg else None
            if not url:
                raise ValueError(f"message {sid} has no StatusCallback; pass url=")
        return self._deliver_callback(sid, url, status, error_code)

    def _deliver_callback(self, sid: str, url: str, status: str,
                          error_code: int | None) -> int | None:
        params = self.status_callback_params(sid, status, error_code)
        http_status, body, err = self._post_form(url, params)
        with self._cb_cond:
            self._callback_results.append({
                "sid": sid, "url": url, "status": status, "error_code": error_code,
                "params": params, "http_status": http_status, "response_body": body,
                "error": err, "time": time.time(),
            })
        return http_status

    def send_inbound(self, url: str, from_: str, body: str, to: str | None = None,
                     extra: dict[str, str] | None = None) -> tuple[int | None, str]:
        """POST a signed inbound-SMS webhook; returns (receiver HTTP status, response body)."""
        sid = _new_sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(count_segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to or self.default_from,
        }
        params.update(extra or {})
        status, text, err = self._post_form(url, params)
        return status, text if err is None else err

    def _schedule(self, sid: str, step: int, delay: float) -> None:
        with self._cb_cond:
            heapq.heappush(self._cb_heap, (time.monotonic() + delay, next(self._cb_seq), sid, step))
            self._cb_cond.notify_all()

    def _callback_worker(self) -> None:
        while True:
            with self._cb_cond:
                while True:
                    if self._cb_stop:
                        return
                    if self._cb_heap:
                        wait = self._cb_heap[0][0] - time.monotonic()
                        if wait <= 0:
                            _, _, sid, step = heapq.heappop(self._cb_heap)
                            self._cb_inflight += 1
                            break
                        self._cb_cond.wait(wait)
                    else:
                        self._cb_cond.wait()
            try:
                self._advance(sid, step)
            except Exception as exc:  # noqa: BLE001 - never kill the worker
                self.worker_errors.append(repr(exc))
            finally:
                with self._cb_cond:
                    self._cb_inflight -= 1
                    self._cb_cond.notify_all()

    def _advance(self, sid: str, step: int | None) -> None:
        """step 0: queued/accepted -> sent; step 1: sent -> final status."""
        with self._lock:
            msg = self._by_sid.get(sid)
            if msg is None:
                return
            res = msg.resource
            now = _rfc2822(datetime.now(UTC))
            if step == 0:
                status, error_code = "sent", None
                res["date_sent"] = now
                msg.sent_at = datetime.now(UTC)
                if not res["from"]:
                    res["from"] = self.default_from
            else:
                status, error_code = self.final_status_for.get(res["to"], ("delivered", None))
                res["error_code"] = error_code
            res["status"] = status
            res["date_updated"] = now
            url = msg.status_callback
        if url:
            self._deliver_callback(sid, url, status, error_code)
        if step == 0:
            self._schedule(sid, 1, self.callback_delay)

    # ---------------------------------------------------------------- request handling
    def _handle(self, method: str, raw_path: str, headers, form: dict[str, list[str]]):
        with self._in_flight_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return self._handle_request(method, raw_path, headers, form)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    def _handle_request(self, method: str, raw_path: str, headers, form: dict[str, list[str]]):
        if self.latency > 0:
            time.sleep(self.latency)
        if headers.get("authorization") != self._expected_auth:
            return 401, _error(401, 20003, "Authenticate"), {
                "WWW-Authenticate": 'Basic realm="Twilio API"'}
        parts = urlsplit(raw_path)
        path = parts.path
        prefix = f"/{API_VERSION}/Accounts/"
        if not path.startswith(prefix):
            return 404, _error(404, 20404, f"The requested resource {path} was not found"), None
        rest = path[len(prefix):].split("/")
        if rest[0].removesuffix(".json") != self.account_sid:
            return 404, _error(404, 20404, f"The requested resource {path} was not found"), None
        if len(rest) == 1 and rest[0].endswith(".json") and method in ("GET", "HEAD"):
            return 200, self._account_resource(), None
        if rest[1:] == ["Messages.json"]:
            if method == "POST":
                return self._create(form)
            if method in ("GET", "HEAD"):
                return self._list(parse_qs(parts.query, keep_blank_values=True))
            return 405, _error(405, 20004, "Method not allowed"), None
        if len(rest) == 3 and rest[1] == "Messages" and rest[2].endswith(".json"):
            sid = rest[2][:-5]
            if method in ("GET", "HEAD"):
                with self._lock:
                    msg = self._by_sid.get(sid)
                    res = dict(msg.resource) if msg else None
                if res is None:
                    return 404, _error(404, 20404,
                                       f"The requested resource {path} was not found"), None
                return 200, res, None
            return 405, _error(405, 20004, "Method not allowed"), None
        return 404, _error(404, 20404, f"The requested resource {path} was not found"), None

    def _account_resource(self) -> dict[str, Any]:
        now = _rfc2822(datetime.now(UTC))
        return {
            "sid": self.account_sid, "friendly_name": "Twilio simulator", "status": "active",
            "type": "Full", "auth_token": self.auth_token, "owner_account_sid": self.account_sid,
            "date_created": now, "date_updated": now,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}.json", "subresource_uris": {},
        }

    def _injected_failure(self):
        with self._lock:
            if self._fail_queue:
                status, code, message = self._fail_queue.pop(0)
            elif self._failure_rate > 0 and self._rng.random() < self._failure_rate:
                status, code = self._rng.choice(self._failure_choices)
                message = None
            else:
                return None
        message = message or DEFAULT_ERROR_MESSAGES.get(status, "Error")
        headers = {"Retry-After": str(self.retry_after)} if status == 429 else None
        return status, _error(status, code, message), headers

    def _create(self, form: dict[str, list[str]]):
        with self._lock:
            self.create_requests += 1
        failure = self._injected_failure()
        if failure:
            return failure
        p = {k: v[0] for k, v in form.items()}
        to = p.get("To", "").strip()
        from_ = p.get("From", "").strip() or None
        service = p.get("MessagingServiceSid", "").strip() or None
        body = p.get("Body", "")
        media = form.get("MediaUrl", [])

        def bad(code: int, message: str):
            return 400, _error(400, code, message), None

        if not to:
            return bad(21604, "A 'To' phone number is required.")
        if not E164.match(to) or to in self.invalid_numbers:
            return bad(21211, f"Invalid 'To' Phone Number: {to}")
        if not from_ and not service:
            return bad(21603, "A 'From' phone number is required.")
        if from_ and not (E164.match(from_) or SHORT_CODE.match(from_)
                          or ALPHANUMERIC_SENDER.match(from_)):
            return bad(21212, f"Invalid From Number (caller ID): {from_}")
        if service and not MESSAGING_SERVICE_SID.match(service):
            return bad(21701, f"The Messaging Service Sid {service} is invalid.")
        if from_ and from_ == to:
            return bad(21266, "'To' and 'From' number cannot be the same")
        if not body and not media:
            return bad(21602, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            return bad(21617, "The concatenated message body exceeds the 1600 character limit.")
        if to in self.landline_numbers:
            return bad(21614, f"'To' number {to} is not a valid mobile number")
        if to in self.opted_out_numbers:
            return bad(21610, "Attempt to send to unsubscribed recipient")

        with self._lock:
            hold = self._holds.pop(to, None)
        if hold is not None:
            hold.arrived.set()
            hold._released.wait(120)
        now = datetime.now(UTC)
        stamp = _rfc2822(now)
        sid = _new_sid("SM")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": stamp,
            "date_sent": None,  # like Twilio: set when the message leaves its queue
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            "num_segments": str(count_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json",
            },
            "to": to,
            "uri": uri,
        }
        callback = p.get("StatusCallback") or None
        with self._lock:
            msg = _Message(next(self._seq), resource, callback, p, None)
            self._messages.append(msg)
            self._by_sid[sid] = msg
            drop = self._drop_next > 0
            if drop:
                self._drop_next -= 1
            snapshot = dict(resource)
        if self.callbacks_enabled:
            self._schedule(sid, 0, self.callback_delay)
        if drop:
            raise _DropConnection()
        return 201, snapshot, None

    def _list(self, query: dict[str, list[str]]):
        q = {k: v[0] for k, v in query.items()}
        try:
            page_size = max(1, min(1000, int(q.get("PageSize") or 50)))
            page = max(0, int(q.get("Page") or 0))
        except ValueError:
            return 400, _error(400, 20001, "Invalid paging parameter"), None
        to, from_ = q.get("To"), q.get("From")
        after = _parse_filter_date(q.get("DateSent>", ""), upper=False)
        before = _parse_filter_date(q.get("DateSent<", ""), upper=True)
        exact = q.get("DateSent", "")
        exact_day = exact[:10] if exact else None
        token = q.get("PageToken", "")
        below_seq = None
        if token.startswith("PA"):
            try:
                below_seq = int(token[2:])
            except ValueError:
                return 400, _error(400, 20001, "Invalid PageToken"), None

        with self._lock:
            candidates = list(reversed(self._messages))  # newest first, like Twilio
            selected = []
            for m in candidates:
                r = m.resource
                if to and r["to"] != to:
                    continue
                if from_ and r["from"] != from_:
                    continue
                if (after or before or exact_day) and m.sent_at is None:
                    continue  # not sent yet (still queued): no DateSent to match, like Twilio
                if after and m.sent_at < after:
                    continue
                if before and m.sent_at > before:
                    continue
                if exact_day and m.sent_at.strftime("%Y-%m-%d") != exact_day:
                    continue
                selected.append(m)
            if below_seq is not None:
                window = [m for m in selected if m.seq < below_seq][:page_size]
            else:
                window = selected[page * page_size:(page + 1) * page_size]
            records = [dict(m.resource) for m in window]
            has_more = bool(window) and any(m.seq < window[-1].seq for m in selected)
            last_seq = window[-1].seq if window else None

        base = self.messages_path
        filters = {k: v for k, v in q.items()
                   if k in ("To", "From", "DateSent", "DateSent>", "DateSent<") and v}

        def uri(page_no: int, extra: dict[str, str] | None = None) -> str:
            params = dict(filters, PageSize=str(page_size), Page=str(page_no), **(extra or {}))
            return base + "?" + urlencode(params)

        start = page * page_size
        payload = {
            "messages": records,
            "end": start + len(records) - 1 if records else start,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, {"PageToken": f"PA{last_seq}"}) if has_more else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": uri(page, {"PageToken": token} if token else None),
        }
        return 200, payload, None


# --------------------------------------------------------------------------------------------
# Command line: serve (python -m tests.fakes.twilio.simulator serve)
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--latency", type=float, default=0.0)
    s.add_argument("--account-sid")
    s.add_argument("--auth-token")
    s.add_argument("--no-callbacks", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "serve":  # the only command
        sim = TwilioSimulator(args.account_sid, args.auth_token, args.latency, port=args.port,
                              callbacks_enabled=not args.no_callbacks)
        sim.start()
        print(f"url={sim.url} account_sid={sim.account_sid} auth_token={sim.auth_token}",
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sim.stop()


if __name__ == "__main__":
    main()
