"""Language selection: Simplified Chinese by default, English on request."""
from __future__ import annotations

from flask import Flask, has_request_context, request, session

from emergency.core.extensions import babel

LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():  # workers, the scheduler and the CLI speak the default
        return default
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(["zh_CN", "zh", "en"], default=None)
        return {"zh": "zh_CN", None: default}.get(best, best)
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return default


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["DISPLAY_TIMEZONE"])
    from flask_babel import get_locale

    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["current_language"] = select_locale
