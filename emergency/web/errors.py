"""Error pages for people and problem details for the API."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError

from emergency.core.api import http_problem, invalid_input, is_api_request, problem
from emergency.core.extensions import db

logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        if is_api_request():
            return http_problem(error)
        return render_template("error.html", error=error), error.code

    @app.errorhandler(ValidationError)
    def handle_validation(error: ValidationError):
        # Operations raise ValidationError for rules that need the database (uniqueness…).

        db.session.rollback()
        if is_api_request():
            return invalid_input(error.normalized_messages())
        return render_template("error.html", error=InternalServerError(str(error.messages))), 422

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):

        logger.exception("unhandled error")
        db.session.rollback()
        if is_api_request():
            return problem(500, "Internal Server Error", _("An unexpected error happened; it has been logged."))
        return render_template("error.html", error=InternalServerError()), 500
