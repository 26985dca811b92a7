"""The /api/v1 machinery: flask-smorest Api, bearer authentication, problem details."""
from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import TYPE_CHECKING, Any, ClassVar

from flask import Flask, Response, abort, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import HTTPException

from emergency.core.roles import Role
from emergency.core.validation import MAX_INT, localise_errors

if TYPE_CHECKING:
    from emergency.auth.models import User

#: ``app.extensions`` key of the function that turns a bearer token into its user (or aborts):
#: set by ``emergency.auth`` (core knows no users).
TOKEN_USER = "api_token_user"

API_PREFIX = "/api/"
PROBLEM_JSON = "application/problem+json"


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "The field, dotted for nested ones; empty for the whole body"})
    pointer = fields.String(metadata={"description": "JSON pointer (RFC 6901) to the field in the request"})
    detail = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every API error answers (``application/problem+json``)."""

    class Meta:
        unknown = INCLUDE  # some problems carry more members (e.g. retry_after)

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(FieldErrorSchema), metadata={"description": "Invalid fields (422)"})


class ProblemApi(Api):
    """An Api whose errors are RFC 9457 problem details, registered for /api/ only.

    flask-smorest's own handler would turn every HTTP error of the whole app (pages too) into
    JSON, so the app's error handlers dispatch here for API paths instead. The document says so:
    every error response (the 422 of invalid arguments and the default) is
    ``application/problem+json`` with ``ProblemSchema``.
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        import http

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as RFC 9457 problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _bound_pagination() -> None:
    """flask-smorest's ``page`` argument has no maximum: a huge page overflows the SQL OFFSET.

    Its schema factory is wrapped once so every paginated operation refuses (422, and documents)
    a page beyond the shared integer bound.
    """
    from flask_smorest import pagination
    from marshmallow import validate

    factory = pagination._pagination_parameters_schema_factory
    if getattr(factory, "_bounded", False):
        return

    def bounded(def_page, def_page_size, def_max_page_size):
        schema = factory(def_page, def_page_size, def_max_page_size)
        page = schema._declared_fields["page"]
        page.validators = [*page.validators, validate.Range(min=1, max=MAX_INT)]
        return schema

    bounded._bounded = True
    pagination._pagination_parameters_schema_factory = bounded


_bound_pagination()  # at import: the API modules import this one before their @paginate run


class UploadParser(FlaskParser):
    """webargs' Flask parser with a ``multipart`` location: the form fields and the files of a
    multipart/form-data request in one schema (and so in one OpenAPI request body)."""

    __location_map__: ClassVar[dict] = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema) -> MultiDictProxy:
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class UploadBlueprint(Blueprint):
    """A Blueprint whose endpoints may take ``location="multipart"`` arguments (file uploads)."""

    ARGUMENTS_PARSER = UploadParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict] = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def field_errors(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow/webargs messages into [{field, pointer, detail}] entries."""
    found: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            # marshmallow's "_schema" holds errors about the object itself, not a field of it.
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            found.extend(field_errors(value, name))
    elif isinstance(messages, (list, tuple)):
        if all(not isinstance(m, (dict, list, tuple)) for m in messages):
            for message in messages:
                found.append(_field_error(prefix, message))
        else:
            for value in messages:
                found.extend(field_errors(value, prefix))
    else:
        found.append(_field_error(prefix, messages))
    return found


def _field_error(field: str, message: Any) -> dict[str, str]:
    """One entry of a problem's ``errors``; the JSON pointer of the whole body is ""."""
    return {"field": field, "pointer": "/" + field.replace(".", "/") if field else "", "detail": str(message)}


def invalid_input(messages: Any, detail: str | None = None, status: int = 422) -> Response:
    """A problem (422 unless told) listing every invalid field of ``messages`` (marshmallow's structure)."""
    errors = field_errors(localise_errors(messages))
    named = sorted({e["field"] for e in errors if e["field"]})
    if not detail and named:
        detail = _("The request has invalid fields: %(fields)s.", fields=", ".join(named))
    elif not detail:
        detail = " ".join(e["detail"] for e in errors)  # about the body as a whole
    return problem(status, _("Invalid input"), detail, errors=errors)


def http_problem(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if messages:
        # webargs keys errors by location first ({"json": {...}}); the field is what matters.
        if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "headers", "files", "view_args",
                                                            "multipart"}:
            merged: dict[str, Any] = {}
            for value in messages.values():
                merged.update(value if isinstance(value, dict) else {"_schema": value})
            messages = merged
        response = invalid_input(messages, data.get("message"), error.code or 422)
    else:
        response = problem(error.code or 500, error.name, data.get("message") or error.description)
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def api_user() -> User:
    """The user authenticated by the request's bearer token (set by ``token_required``)."""
    return g.api_user


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _space, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        abort(401, description=_("Send an API token: Authorization: Bearer <token>."))
    return current_app.extensions[TOKEN_USER](raw.strip())


#: The OpenAPI security requirement of every endpoint behind ``token_required``.
BEARER = [{"bearerAuth": []}]


def token_required(*roles: Role) -> Callable:
    """Endpoint decorator: a valid bearer token, of a user with one of ``roles`` if given.

    It also documents the bearer requirement in the OpenAPI document (flask-smorest reads
    ``_apidoc``), so no endpoint declares it again.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            user = _authenticate()
            if roles and user.role not in roles:
                abort(403, description=_("Your role may not do this."))
            g.api_user = user
            return view(*args, **kwargs)

        wrapped._api_roles = roles
        wrapped._apidoc = deepcopy(getattr(view, "_apidoc", {}))
        wrapped._apidoc.setdefault("manual_doc", {}).setdefault("security", BEARER)
        return wrapped

    return decorator


def register_swagger_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the installed swagger-ui-bundle package."""
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path

    @app.route("/api/v1/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)
