"""Configuration from the environment, in one class (see README: Configuration)."""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_secret_key(instance_path: Path) -> str | None:
    """SECRET_KEY from the environment, else from instance/secret_key if it exists (building
    the app creates no file: the process that runs calls ``ensure_secret_key``)."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    return key_file.read_text().strip() if key_file.exists() else None


def ensure_secret_key(app) -> None:
    """Give a process that runs (web, CLI, worker, scheduler) a key: instance/secret_key,
    created once. The file is created with O_EXCL so that concurrent workers starting together
    agree on one key instead of overwriting each other's."""
    if app.config.get("SECRET_KEY"):
        return
    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        app.config["SECRET_KEY"] = key_file.read_text().strip()
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    app.config["SECRET_KEY"] = key_file.read_text().strip()


class Config:
    """Settings read from environment variables when the app is created."""

    def __init__(self, instance_path: Path) -> None:
        env = os.environ
        self.SECRET_KEY = load_secret_key(instance_path)
        default_db = f"sqlite:///{instance_path / 'emergency.db'}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", default_db))
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.SQLALCHEMY_RECORD_QUERIES = False

        # The task queue (emergency.core.queue): SQLite file by default, Redis with REDIS_URL.
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.HUEY_NAME = env.get("HUEY_NAME", "emergency")
        self.HUEY_SQLITE_PATH = env.get("HUEY_SQLITE_PATH") or str(instance_path / "huey.db")
        #: Run tasks in-process at once (unit tests only).
        self.HUEY_IMMEDIATE = _bool(env.get("HUEY_IMMEDIATE"))

        # Sessions and cookies.
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool(env.get("SESSION_COOKIE_SECURE"))
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = int(env.get("SESSION_LIFETIME_HOURS", "12")) * 3600
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

        # Login throttling: after LOGIN_SLOWDOWN_AFTER failures each attempt must wait
        # exponentially longer; after LOGIN_LOCK_AFTER failures the account is locked.
        self.LOGIN_SLOWDOWN_AFTER = int(env.get("LOGIN_SLOWDOWN_AFTER", "3"))
        self.LOGIN_LOCK_AFTER = int(env.get("LOGIN_LOCK_AFTER", "8"))
        self.LOGIN_LOCK_MINUTES = int(env.get("LOGIN_LOCK_MINUTES", "15"))
        #: werkzeug hash method; tests use a cheap one, production keeps scrypt.
        self.PASSWORD_HASH_METHOD = env.get("PASSWORD_HASH_METHOD", "scrypt")
        self.API_TOKEN_DAYS = int(env.get("API_TOKEN_DAYS", "365"))

        # Language and time.
        self.BABEL_DEFAULT_LOCALE = env.get("DEFAULT_LOCALE", "zh_CN")
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.LANGUAGES = ["zh_CN", "en"]
        self.DISPLAY_TIMEZONE = "Asia/Shanghai"

        # Lists.
        self.PAGE_SIZE = int(env.get("PAGE_SIZE", "20"))

        # API and its OpenAPI document (flask-smorest).
        self.API_TITLE = "Emergency plans and drills API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"  # the bundled Swagger UI 4 reads 3.0
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "/docs"
        # Swagger UI assets are served by this app (duty rooms may have no internet).
        self.OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
        # Never the "valid" badge (the standalone layout's): it would send the document's URL to
        # validator.swagger.io, and the Content-Security-Policy blocks foreign images.
        self.OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None}
        self.API_SPEC_OPTIONS = {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                }
            },
            "info": {
                "description": "County emergency-plan and drill management. Authenticate with "
                "POST /api/v1/auth/token and send `Authorization: Bearer <token>`. "
                "Errors are RFC 9457 problem details."
            },
        }

        # SMS. The console provider (records, sends nothing) unless Twilio credentials are given.
        self.TWILIO_ACCOUNT_SID = env.get("TWILIO_ACCOUNT_SID") or None
        self.TWILIO_AUTH_TOKEN = env.get("TWILIO_AUTH_TOKEN") or None
        self.TWILIO_FROM = env.get("TWILIO_FROM") or None
        self.TWILIO_MESSAGING_SERVICE_SID = env.get("TWILIO_MESSAGING_SERVICE_SID") or None
        self.TWILIO_API_BASE_URL = env.get("TWILIO_API_BASE_URL") or None
        self.SMS_PROVIDER = env.get("SMS_PROVIDER") or (
            "twilio" if self.TWILIO_ACCOUNT_SID and self.TWILIO_AUTH_TOKEN else "console")
        #: The address the provider reaches us at, for status callbacks and signature checks.
        self.PUBLIC_BASE_URL = env.get("PUBLIC_BASE_URL") or None
        #: Outgoing proxy for the provider's API, e.g. http://proxy.example:3128 (none by default).
        self.SMS_HTTP_PROXY = env.get("SMS_HTTP_PROXY") or None
        #: The domain of calendar (ICS) event UIDs; stable for ever once feeds are subscribed.
        self.CALENDAR_UID_DOMAIN = env.get("CALENDAR_UID_DOMAIN") or None
        self.SMS_CONCURRENCY = int(env.get("SMS_CONCURRENCY", "16"))
        self.SMS_BATCH_SIZE = int(env.get("SMS_BATCH_SIZE", "100"))
        self.SMS_TIMEOUT_SECONDS = float(env.get("SMS_TIMEOUT_SECONDS", "15"))
        self.SMS_MAX_ATTEMPTS = int(env.get("SMS_MAX_ATTEMPTS", "6"))
        self.SMS_RETRY_BASE_SECONDS = float(env.get("SMS_RETRY_BASE_SECONDS", "2"))
        self.SMS_RETRY_MAX_SECONDS = float(env.get("SMS_RETRY_MAX_SECONDS", "300"))
        self.SMS_RECONCILE_DELAY = float(env.get("SMS_RECONCILE_DELAY", "20"))
        self.SMS_STUCK_SECONDS = int(env.get("SMS_STUCK_SECONDS", "120"))
        self.SMS_STATUS_POLL_MINUTES = int(env.get("SMS_STATUS_POLL_MINUTES", "15"))
        #: How long after sending a message's status is still asked for (polls of silent ones);
        #: a campaign is done when every delivery is final or past this window.
        self.SMS_STATUS_WINDOW_HOURS = float(env.get("SMS_STATUS_WINDOW_HOURS", "24"))

        # PDF rendering (emergency/pdf.py): Debian's wkhtmltopdf, hardened on every call.
        self.WKHTMLTOPDF = env.get("WKHTMLTOPDF") or shutil.which("wkhtmltopdf")
        #: wkhtmltopdf is killed after this long; the caller gets a PdfRenderError.
        self.PDF_TIMEOUT_SECONDS = float(env.get("PDF_TIMEOUT_SECONDS", "60"))
        #: Render a plan's PDFs and a filing's registration form in the worker as soon as they
        #: exist, so that the first download is instant (else they are rendered when first asked).
        self.PDF_PRERENDER = _bool(env.get("PDF_PRERENDER"), True)

        # Attachments (emergency/files.py), stored by content hash. None means
        # ``<instance>/attachments``, resolved when used (the instance path may change).
        self.ATTACHMENT_DIR = env.get("ATTACHMENT_DIR") or None
        self.ATTACHMENT_MAX_BYTES = int(env.get("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))

        # Word import (plans/documents/docx_import.py): what one .docx may hold. Real plans run to
        # 3,000–5,000 paragraphs; a file over a limit is refused before it is parsed.
        self.DOCX_IMPORT_MAX_PARAGRAPHS = int(env.get("DOCX_IMPORT_MAX_PARAGRAPHS", "20000"))
        self.DOCX_IMPORT_MAX_TABLES = int(env.get("DOCX_IMPORT_MAX_TABLES", "2000"))
        self.DOCX_IMPORT_MAX_CELLS = int(env.get("DOCX_IMPORT_MAX_CELLS", "100000"))
        #: Unpacked size of all the file's XML parts.
        self.DOCX_IMPORT_MAX_XML_BYTES = int(env.get("DOCX_IMPORT_MAX_XML_BYTES", str(40 * 1024 * 1024)))
        #: Files of up to this many paragraphs are read in the request; larger ones by the worker.
        self.DOCX_IMPORT_INLINE_PARAGRAPHS = int(env.get("DOCX_IMPORT_INLINE_PARAGRAPHS", "1000"))
        #: A queued or running import job not heard of for this long is shown as stopped.
        self.DOCX_IMPORT_STALL_MINUTES = int(env.get("DOCX_IMPORT_STALL_MINUTES", "10"))

        # Scheduler process.
        self.SCHEDULER_STANDBY_POLL = float(env.get("SCHEDULER_STANDBY_POLL", "10"))

        # Demo data.
        self.DEMO_PASSWORD = env.get("DEMO_PASSWORD") or None
