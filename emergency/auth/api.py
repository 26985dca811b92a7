"""/api/v1/auth: bearer tokens for integrations."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, request
from flask.views import MethodView
from flask_smorest import Blueprint

from emergency.core.api import api_user, token_required
from emergency.core.extensions import db
from emergency.auth import operations
from emergency.auth.models import ApiToken
from emergency.auth.schemas import TokenInfoSchema, TokenRequest, TokenSchema

blp = Blueprint("auth_api", __name__, url_prefix="/api/v1", description="Authentication with bearer tokens")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="Wrong credentials, account disabled or locked")
    @blp.alt_response(403, description="The account has a temporary password that must first be changed on the login page")
    def post(self, data):
        """Exchange a username and password for a bearer token (shown once).

        Failed attempts count towards the same slow-down and lock-out as the login page.
        A temporary password (new user, admin reset) gets no token until it is changed.
        """
        try:
            user = operations.authenticate(data["username"], data["password"])
        except operations.LoginRefused as refused:
            db.session.commit()
            abort(401, description=str(refused))
        if user.must_change_password:
            db.session.commit()
            abort(403, description=operations.must_change_message())
        raw, token = operations.issue_token(user, data["name"])
        db.session.commit()
        return {"token": raw, "id": token.id, "name": token.name, "expires_at": token.expires_at}

    @token_required()
    @blp.response(204)
    def delete(self):
        """Revoke the token this request was made with."""
        raw = request.headers["Authorization"].partition(" ")[2].strip()
        operations.revoke_token(api_user(), operations.find_token(raw))
        db.session.commit()


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @token_required()
    @blp.response(200, TokenInfoSchema(many=True))
    def get(self):
        """The caller's own tokens (values are never shown again)."""
        return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == api_user().id)
                                  .order_by(ApiToken.created_at.desc())).all()


@blp.route("/auth/tokens/<int:token_id>")
class TokenById(MethodView):
    @token_required()
    @blp.response(204)
    def delete(self, token_id: int):
        """Revoke one of the caller's tokens."""
        token = db.session.get(ApiToken, token_id)
        if token is None or token.user_id != api_user().id:
            abort(404)
        operations.revoke_token(api_user(), token)
        db.session.commit()
