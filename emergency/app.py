"""The application factory: the shell that wires the platform (``emergency.core``) and every
domain of ``emergency.modules`` into one Flask app.

Building the app reads configuration and registers things; it creates no file, opens no
connection and configures no logging (the process that runs does: ``wsgi.py``, the worker,
the scheduler).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_login import current_user

from emergency import modules
from emergency.cli import register_cli
from emergency.core import access_log, i18n, queue
from emergency.core import db as _db_hooks  # noqa: F401 - after-commit hooks on every session
from emergency.core.api import ProblemApi, register_swagger_assets
from emergency.core.config import Config
from emergency.core.extensions import csrf, db, login_manager, migrate
from emergency.core.timeutil import local_today
from emergency.core.validation import BoundedIntConverter
from emergency.health.status import cached
from emergency.web import errors, filters, headers
from emergency.web import views as web_views
from emergency.workdays.calendar import next_year_missing
from scheduler.cli import register as register_scheduler_cli

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides settings read from the environment (tests)."""
    app = Flask(
        "emergency",
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "emergency" / "static"),
    )
    app.config.from_object(Config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    app.config.setdefault("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)

    access_log.install()  # calendar-feed tokens never reach a log line
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    queue.init_app(app)

    filters.init_app(app)
    _system_banner(app)
    _calendar_banner(app)
    errors.init_app(app)
    headers.init_app(app)
    # Before any route is added: every <int:…> in a URL is an id in 1 … 2^31-1 (else 404).
    app.url_map.converters["int"] = BoundedIntConverter

    app.register_blueprint(web_views.bp)
    api = ProblemApi(app)
    register_swagger_assets(app)
    modules.register(app, api, csrf)
    register_cli(app)
    register_scheduler_cli(app)
    return app


def _system_banner(app: Flask) -> None:
    """Officers see on every page when the scheduler or the queue has stalled."""
    @app.context_processor
    def system_status():
        if not (current_user and current_user.is_authenticated and current_user.is_officer):
            return {}
        return {"system_status": cached(app.config["SQLALCHEMY_DATABASE_URI"])}


def _calendar_banner(app: Flask) -> None:
    """In December admins see on every page when next year's working days are still unknown."""
    @app.context_processor
    def calendar_reminder():
        if not (current_user and current_user.is_authenticated and current_user.role.value == "admin"):
            return {}
        return {"calendar_missing_year": next_year_missing(local_today())}


