"""Emergency-plan and drill management: the Flask application factory."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application. No side effects beyond reading configuration.

    ``config`` overrides settings read from the environment (tests use it).
    """
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    from .config import Config

    app.config.from_object(Config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    app.config.setdefault("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic.runtime.plugins", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from . import access_log

    access_log.install()  # calendar-feed tokens never reach a log line

    from . import i18n
    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)

    from . import models  # noqa: F401 - every table is known to metadata and migrations
    from .auth import views as auth_views
    from .web import errors, filters, headers

    from . import transactions  # noqa: F401 - after-commit hooks (enqueue once data is visible)

    auth_views.init_login(app)
    filters.init_app(app)
    _system_banner(app)
    _calendar_banner(app)
    errors.init_app(app)
    headers.init_app(app)
    from .validation import BoundedIntConverter

    # Before any route is added: every <int:…> in a URL is an id in 1 … 2^63-1 (else 404).
    app.url_map.converters["int"] = BoundedIntConverter
    _register_blueprints(app)

    from .cli import register_cli

    register_cli(app)
    from scheduler.cli import register as register_scheduler_cli

    register_scheduler_cli(app)
    return app


def _system_banner(app: Flask) -> None:
    """Officers see on every page when the scheduler or the queue has stalled."""
    from flask_login import current_user

    @app.context_processor
    def system_status():
        if not (current_user and current_user.is_authenticated and current_user.is_officer):
            return {}
        from .health.status import cached

        return {"system_status": cached(app.config["SQLALCHEMY_DATABASE_URI"])}


def _calendar_banner(app: Flask) -> None:
    """In December admins see on every page when next year's working days are still unknown."""
    from flask_login import current_user

    @app.context_processor
    def calendar_reminder():
        if not (current_user and current_user.is_authenticated and current_user.role.value == "admin"):
            return {}
        from .timeutil import local_today
        from .workdays.calendar import next_year_missing

        return {"calendar_missing_year": next_year_missing(local_today())}


def _register_blueprints(app: Flask) -> None:
    from .api import ProblemApi, register_swagger_assets
    from .audit import api as audit_api
    from .audit import views as audit_views
    from .auth import api as auth_api
    from .auth import views as auth_views
    from .extensions import csrf
    from .messaging import api as messaging_api
    from .messaging import views as messaging_views
    from .messaging import webhooks
    from .organisations import api as org_api
    from .organisations import views as org_views
    from .web import views as web_views
    from .workdays import api as workdays_api
    from .workdays import views as workdays_views
    from plans.drills import api as drill_api
    from plans.drills import calendar_views as drill_calendar_views
    from plans.drills import dashboard_views as drill_dashboard_views
    from plans.drills import feed_api as drill_feed_api
    from plans.drills import record_api as drill_record_api
    from plans.drills import record_views as drill_record_views
    from plans.drills import views as drill_views
    from plans.filing import api as filing_api
    from plans.filing import handlers as _filing_handlers  # noqa: F401 (connects its signal handlers)
    from plans.filing import views as filing_views
    from plans.plan import api as plan_api
    from plans.plan import views as plan_views

    for blueprint in (web_views.bp, auth_views.bp, auth_views.admin_bp, org_views.bp, audit_views.bp,
                      messaging_views.bp, webhooks.bp, workdays_views.bp, plan_views.bp, filing_views.bp, drill_views.bp, drill_record_views.bp,
                      drill_calendar_views.bp, drill_dashboard_views.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(webhooks.bp)  # signed by the provider instead

    api = ProblemApi(app)
    register_swagger_assets(app)
    for blueprint in (auth_api.blp, org_api.blp, audit_api.blp, messaging_api.blp, workdays_api.blp, plan_api.blp,
                      filing_api.blp, drill_api.blp, drill_record_api.blp, drill_feed_api.blp):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
