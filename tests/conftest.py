"""Fixtures: a real database (SQLite file, or PostgreSQL from TEST_DATABASE_URL) migrated once
per run with the real migrations, and reset before every test.

SQLite: each test gets a fresh copy of the migrated file. PostgreSQL: every table is
truncated (TRUNCATE does not fire the audit trail's append-only row triggers).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import g

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.pop("DATABASE_URL", None)  # tests choose their database below, never the developer's
# Unit tests run queue tasks in-process; the reliability tests start real consumers on a
# queue of their own (tests/test_delivery_reliability.py).
os.environ["HUEY_IMMEDIATE"] = "1"
os.environ["HUEY_NAME"] = f"emergency-test-{os.getpid()}"
# The queue is SQLite by default; TEST_REDIS_URL runs the real-consumer tests on Redis (CI).
if os.environ.get("TEST_REDIS_URL"):
    os.environ["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
else:
    os.environ.pop("REDIS_URL", None)
os.environ.setdefault("HUEY_SQLITE_PATH", os.path.join(tempfile.mkdtemp(prefix="huey-"), "huey.db"))

from emergency import create_app  # noqa: E402
from emergency.core.extensions import db  # noqa: E402

pytest.register_assert_rewrite("tests.factories")
from .factories import drill_of  # noqa: F401  (re-exported: tests import it from here)

#: Factory fixtures (make_plan, make_published_plan, make_filing, make_cycle, make_drill).
pytest_plugins = ["tests.factories"]

PASSWORD = "Test-password-1"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")

#: The compiled-catalog directory every test app reads (set by the ``translations`` fixture).
_TRANSLATIONS: dict[str, str] = {}


def _compile_translations(target: Path) -> str:
    """Compile emergency/translations/*/LC_MESSAGES/messages.po into ``target`` (.mo files are not in git)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    import emergency

    source = Path(emergency.__file__).resolve().parent / "translations"
    for po in source.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as src:
            catalog = read_po(src, locale=po.parts[-3])
        with mo.open("wb") as out:
            write_mo(out, catalog)
    return str(target)


@pytest.fixture(scope="session", autouse=True)
def translations(tmp_path_factory) -> str:
    """Every app built by the tests uses freshly compiled catalogs (Chinese by default).

    Flask-Babel caches catalogs per process, so every app of a run shares this one folder.
    """
    _TRANSLATIONS["dir"] = _compile_translations(tmp_path_factory.mktemp("translations"))
    return _TRANSLATIONS["dir"]


def _base_config(url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
        # PDFs are rendered in the tests about PDFs (which turn this on), not in every publication.
        "PDF_PRERENDER": False,
        **({"BABEL_TRANSLATION_DIRECTORIES": _TRANSLATIONS["dir"]} if _TRANSLATIONS else {}),
    }


@pytest.fixture(scope="session")
def database(tmp_path_factory, translations) -> dict[str, Any]:
    """Migrate a database once per run with ``flask db upgrade``'s code path."""
    from flask_migrate import upgrade

    from emergency.core.config import normalise_database_url

    if TEST_DATABASE_URL:
        url = normalise_database_url(TEST_DATABASE_URL)
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:  # parallel workers (pytest -n): each its own database beside the given one
            url = _worker_database(url, worker)
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        except sa.exc.OperationalError as exc:
            pytest.exit(f"TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {exc}", returncode=3)
        engine.dispose()
        template = None
    else:
        folder = tmp_path_factory.mktemp("db")
        template = folder / "template.db"
        url = f"sqlite:///{template}"
    app = create_app(_base_config(url))
    with app.app_context():
        upgrade()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        db.engine.dispose()
    if template is not None:
        work = template.parent / "test.db"
        return {"url": f"sqlite:///{work}", "template": template, "work": work, "tables": tables}
    return {"url": url, "template": None, "tables": tables}


def _worker_database(url: str, worker: str) -> str:
    """``<database>_<worker>`` on the same server, created when missing."""
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.exit(f"TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {exc}", returncode=3)
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset(database: dict[str, Any]) -> None:
    if database["template"] is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(database["work"]) + suffix).unlink(missing_ok=True)
        shutil.copyfile(database["template"], database["work"])
        return
    engine = sa.create_engine(database["url"])
    with engine.begin() as conn:
        names = ", ".join(f'"{name}"' for name in database["tables"])
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(database, tmp_path) -> Iterator:
    from emergency.health import status

    _reset(database)
    # The system status is cached per process and database URL for 15 s: a status seen by the
    # previous test on this worker (its database was just reset) must not show on this one's pages.
    status._cache.clear()
    config = _base_config(database["url"])
    app = create_app(config)
    app.instance_path = str(tmp_path / "instance")

    @app.teardown_request
    def _forget_request_globals(_exc) -> None:
        # Requests reuse the test's app context, so ``g`` (Flask-Login's user, the CSRF
        # token, the locale) would leak from one request and one client to the next.
        g.__dict__.clear()

    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def real_queue(app, monkeypatch):
    """Enqueue into the real queue (the one worker processes read), not in-process; tests then
    run real consumers, or dequeue and execute as a consumer does."""
    from emergency.core.queue import app_queue  # after the environment above is set

    huey = app_queue(app).huey
    monkeypatch.setattr(huey, "immediate", False)
    huey.flush()
    yield huey
    huey.flush()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def county(app):
    """A county with three townships."""
    from emergency.organisations.models import Jurisdiction, Township

    jurisdiction = Jurisdiction(name="测试县", area_code="330999", bureau_name="测试县应急管理局")
    db.session.add(jurisdiction)
    townships = [Township(jurisdiction=jurisdiction, name=n) for n in ("城关镇", "东城街道", "南山镇")]
    db.session.add_all(townships)
    db.session.commit()
    return jurisdiction


_CODE_SEQUENCE = iter(range(10_000_000))


def valid_credit_code(seed: int | None = None) -> str:
    from emergency.organisations.credit_code import ALPHABET, check_character

    n = next(_CODE_SEQUENCE) if seed is None else seed
    tail = ""
    for _ in range(9):
        n, r = divmod(n, len(ALPHABET))
        tail = ALPHABET[r] + tail
    body = "91330999" + tail
    return body + check_character(body)


@pytest.fixture
def make_enterprise(county) -> Callable[..., Any]:
    from emergency.organisations.models import Enterprise

    def make(**fields: Any) -> Enterprise:
        values = {
            "name": f"测试企业{next(_CODE_SEQUENCE)}",
            "credit_code": valid_credit_code(),
            "industry": "manufacturing",
            "scale": "small",
            "township": county.townships[0],
            "principal_name": "张三",
            "principal_mobile": "+8613800138000",
            "safety_manager_name": "李四",
            "safety_manager_mobile": "+8613900139000",
        }
        values.update(fields)
        enterprise = Enterprise(**values)
        db.session.add(enterprise)
        db.session.commit()
        return enterprise

    return make


@pytest.fixture
def make_user(app) -> Callable[..., Any]:
    from emergency.auth.models import Role, User

    def make(username: str, role: str = "officer", enterprise=None, **fields: Any) -> User:
        user = User(username=username, display_name=username, role=Role(role),
                    enterprise_id=enterprise.id if enterprise is not None else None, **fields)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def people(make_user, make_enterprise) -> dict[str, Any]:
    """One user of every role, and two enterprises each with its own user."""
    own = make_enterprise(name="甲化工有限公司", industry="hazardous_chemicals", scale="medium")
    other = make_enterprise(name="乙酒店有限公司", industry="hotel", scale="small")
    return {
        "admin": make_user("admin", "admin"),
        "officer": make_user("duty", "officer"),
        "viewer": make_user("viewer", "viewer"),
        "enterprise": make_user("ent-a", "enterprise", own),
        "other_enterprise": make_user("ent-b", "enterprise", other),
        "own": own,
        "other": other,
    }


@pytest.fixture
def login(client) -> Callable[[str], Any]:
    def do_login(username: str, password: str = PASSWORD):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do_login


@pytest.fixture
def token_for(client) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a user, obtained through POST /api/v1/auth/token."""

    def get(username: str, password: str = PASSWORD) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return get


def no_quiet_hours() -> None:
    """Let normal-priority SMS go at once whatever the time of day the suite runs at."""
    from emergency.core.extensions import db
    from emergency.messaging import settings

    settings.put(None, "quiet_hours", "")
    db.session.commit()
