"""SMS providers behind one small interface: ``console`` (records, sends nothing) and ``twilio``.

A provider answers three questions: send this; did you already accept a message to this
number since then (reconciliation after a crash); what is the status of this message.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from flask import Flask, current_app

logger = logging.getLogger(__name__)

#: Twilio error codes that will not get better by retrying.
INVALID_NUMBER_CODES = {"21211", "21614", "21612", "21408"}
OPTED_OUT_CODES = {"21610"}
RETRYABLE_CODES = {"20429", "20500", "20503", "30001"}


@dataclass(frozen=True)
class Accepted:
    sid: str
    #: The provider's status at acceptance (queued, accepted, sent for console).
    status: str


class SendFailed(Exception):
    """The provider did not take the message.

    ``kind``: ``retry`` (429, 5xx, connection never made), ``invalid`` (bad or non-mobile
    number), ``opted_out`` (21610), ``permanent`` (anything else), or ``unknown`` — the
    request may have reached the provider (connection dropped after sending): ask before
    sending again.
    """

    def __init__(self, kind: str, code: str | None, message: str, retry_after: float | None = None):
        super().__init__(f"{kind}: {code} {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.retry_after = retry_after


class Provider(Protocol):
    name: str
    #: True when nothing reaches a phone (the UI says so).
    simulated: bool

    def send(self, to: str, body: str, status_callback: str | None) -> Accepted: ...

    def find_accepted(self, to: str, body: str, since: datetime) -> list[str]: ...

    def fetch_status(self, sid: str) -> tuple[str, str | None]: ...


class ConsoleProvider:
    """Records each message in the log and reports it sent. Nothing reaches a phone."""

    name = "console"
    simulated = True

    def send(self, to: str, body: str, status_callback: str | None) -> Accepted:
        sid = "CONSOLE" + uuid.uuid4().hex
        logger.info("console SMS %s to %s: %s", sid, to, body.replace("\n", " ")[:200])
        return Accepted(sid, "sent")

    def find_accepted(self, to: str, body: str, since: datetime) -> list[str]:
        return []  # the console keeps nothing: an unrecorded send is sent again

    def fetch_status(self, sid: str) -> tuple[str, str | None]:
        return "sent", None


class TwilioProvider:
    """The real twilio client, optionally pointed at a compatible gateway or simulator."""

    name = "twilio"
    simulated = False

    def __init__(self, account_sid: str, auth_token: str, *, from_: str | None, messaging_service_sid: str | None,
                 api_base_url: str | None, timeout: float, pool_size: int, proxy: str | None = None):
        import requests
        from requests.adapters import HTTPAdapter
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = TwilioHttpClient(timeout=timeout, pool_connections=True, max_retries=None,
                                       proxy={"http": proxy, "https": proxy} if proxy else None)
        # One connection pool big enough for every concurrent sender. The proxy is configured
        # explicitly, so requests need not scan the environment on every call (costly at volume).
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        http_client.session = requests.Session()
        http_client.session.trust_env = False
        http_client.session.mount("https://", adapter)
        http_client.session.mount("http://", adapter)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid

    def send(self, to: str, body: str, status_callback: str | None) -> Accepted:
        import requests
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise classify_rest_error(exc) from exc
        except (requests.exceptions.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            raise SendFailed("retry", None, f"connection not made: {exc.__class__.__name__}") from exc
        except requests.exceptions.ConnectionError as exc:
            if _connection_never_made(exc):
                raise SendFailed("retry", None, "connection refused") from exc
            raise SendFailed("unknown", None, f"no answer after sending: {exc.__class__.__name__}") from exc
        except requests.exceptions.RequestException as exc:
            raise SendFailed("unknown", None, f"no answer after sending: {exc.__class__.__name__}") from exc
        return Accepted(message.sid, message.status or "queued")

    def find_accepted(self, to: str, body: str, since: datetime) -> list[str]:
        """The sids of messages with this body to this number created since ``since`` (less two
        minutes for clock skew and Twilio's whole-second times), newest first.

        No DateSent filter: Twilio sets ``date_sent`` only when it hands the message to the
        carrier, so a message it accepted but still holds in its queue (a large campaign from
        one sender queues for minutes) has none and would not be listed: it would be sent again.
        """
        window = since - timedelta(minutes=2)
        found = []
        for message in self.client.messages.stream(to=to, page_size=200, limit=1000):
            created = message.date_created
            if message.body == body and (created is None or created >= window):
                found.append(message.sid)
        return found

    def fetch_status(self, sid: str) -> tuple[str, str | None]:
        message = self.client.messages(sid).fetch()
        return message.status, (str(message.error_code) if message.error_code else None)


def _connection_never_made(exc: Exception) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "Name or service not known" in text


def classify_rest_error(exc) -> SendFailed:
    code = str(exc.code) if exc.code is not None else None
    status = exc.status or 0
    message = (exc.msg or "")[:300]
    if code in OPTED_OUT_CODES:
        return SendFailed("opted_out", code, message)
    if code in INVALID_NUMBER_CODES:
        return SendFailed("invalid", code, message)
    if status == 429 or code in RETRYABLE_CODES or status >= 500:
        return SendFailed("retry", code or str(status), message)
    return SendFailed("permanent", code or str(status), message)


_lock = threading.Lock()


def get_provider(app: Flask | None = None) -> Provider:
    """The configured provider, one per app (the twilio client keeps its connections)."""
    app = app or current_app._get_current_object()
    provider = app.extensions.get("sms_provider")
    if provider is not None:
        return provider
    with _lock:
        provider = app.extensions.get("sms_provider")
        if provider is None:
            provider = _build(app)
            app.extensions["sms_provider"] = provider
    return provider


def _build(app: Flask) -> Provider:
    config = app.config
    if config.get("SMS_PROVIDER") == "twilio":
        return TwilioProvider(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
            from_=config.get("TWILIO_FROM"), messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
            api_base_url=config.get("TWILIO_API_BASE_URL"), timeout=config["SMS_TIMEOUT_SECONDS"],
            pool_size=config["SMS_CONCURRENCY"] * 2, proxy=config.get("SMS_HTTP_PROXY"),
        )
    return ConsoleProvider()
