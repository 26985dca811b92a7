"""Logging in (with slow-down and lock-out), passwords, users and API tokens."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import operations as audit
from ..extensions import db
from ..timeutil import utcnow
from .models import ApiToken, Role, User

logger = logging.getLogger(__name__)

#: Compared against when the username is unknown, so both cases take as long.
_DUMMY_HASH = generate_password_hash("not a real password")
TOKEN_PREFIX = "ept_"


class LoginRefused(Exception):
    """Login did not succeed; ``str(exc)`` is the message to show."""


def find_user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))


def authenticate(username: str, password: str, now: datetime | None = None) -> User:
    """Check a login; throttles and locks the account on repeated failures.

    The caller commits either way, so failure counts persist.
    """
    now = now or utcnow()
    config = current_app.config
    user = find_user(username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise LoginRefused(_("Wrong username or password."))
    if user.next_attempt_at is not None and now < user.next_attempt_at:
        if user.failed_logins >= config["LOGIN_LOCK_AFTER"]:
            raise LoginRefused(_(
                "Too many failed logins: this account is locked until %(time)s.",
                time=format_datetime(user.next_attempt_at, "HH:mm"),
            ))
        seconds = max(1, int((user.next_attempt_at - now).total_seconds() + 0.999))
        raise LoginRefused(_(
            "Too many failed logins: wait %(seconds)s seconds before trying again.", seconds=seconds
        ))
    if (user.failed_logins or 0) >= config["LOGIN_LOCK_AFTER"] and user.next_attempt_at is not None:
        # The lock has passed: count afresh (the slowdown applies again, not an instant re-lock).
        user.failed_logins = 0
        user.next_attempt_at = None
    if not user.check_password(password):
        user.failed_logins = (user.failed_logins or 0) + 1
        failures = user.failed_logins
        if failures >= config["LOGIN_LOCK_AFTER"]:
            user.next_attempt_at = now + timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
            audit.record(None, "lock", "user", user.id, enterprise_id=user.enterprise_id,
                         summary=user.username, changes={"failed_logins": failures})
            logger.warning("account %s locked after %s failed logins", user.username, failures)
            db.session.flush()
            raise LoginRefused(_(
                "Too many failed logins: this account is locked for %(minutes)s minutes.",
                minutes=config["LOGIN_LOCK_MINUTES"],
            ))
        if failures >= config["LOGIN_SLOWDOWN_AFTER"]:
            user.next_attempt_at = now + timedelta(seconds=2 ** (failures - config["LOGIN_SLOWDOWN_AFTER"]))
        db.session.flush()
        raise LoginRefused(_("Wrong username or password."))
    if not user.active:
        raise LoginRefused(_("This account is disabled. Ask the administrator."))
    user.failed_logins = 0
    user.next_attempt_at = None
    user.last_login_at = now
    db.session.flush()
    return user


def change_password(user: User, new_password: str, actor: User | None = None) -> None:
    """Set a new password; other sessions of the user end (session version bump)."""
    user.set_password(new_password)
    user.session_version = (user.session_version or 1) + 1
    user.must_change_password = actor is not None and actor.id != user.id
    audit.record(actor or user, "password", "user", user.id, enterprise_id=user.enterprise_id,
                 summary=user.username)
    db.session.flush()


def temporary_password() -> str:
    """A random password handed out once; its owner must replace it at first login."""
    return secrets.token_urlsafe(9)


def reset_password(actor: User, user: User) -> str:
    """Give ``user`` a random temporary password they must change at next login."""
    temporary = temporary_password()
    change_password(user, temporary, actor=actor)
    user.failed_logins = 0
    user.next_attempt_at = None
    return temporary


def create_user(actor: User | None, data: dict[str, Any], password: str) -> User:
    username = data["username"].lower()
    if find_user(username) is not None:
        raise ValidationError({"username": [_("This username is taken.")]})
    user = User(
        username=username,
        display_name=data["display_name"],
        role=data["role"],
        enterprise_id=data.get("enterprise_id") if data["role"] == Role.enterprise else None,
        must_change_password=actor is not None,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create", "user", user.id, enterprise_id=user.enterprise_id, summary=username,
                 changes=audit.snapshot(user, exclude=frozenset({"password_hash", "created_at"})))
    return user


def update_user(actor: User, user: User, data: dict[str, Any]) -> None:
    if "username" in data and data["username"].lower() != user.username:
        if find_user(data["username"]) is not None:
            raise ValidationError({"username": [_("This username is taken.")]})
        data = {**data, "username": data["username"].lower()}
    if user.id == actor.id and data.get("role", user.role) != user.role:
        raise ValidationError({"role": [_("You cannot change your own role.")]})
    for key, value in data.items():
        setattr(user, key, value)
    changes = audit.pending_changes(user, exclude=frozenset({"password_hash"}))
    if changes:
        audit.record(actor, "update", "user", user.id, enterprise_id=user.enterprise_id,
                     summary=user.username, changes=changes)
    db.session.flush()


def set_user_active(actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise ValidationError({"active": [_("You cannot disable yourself.")]})
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_version = (user.session_version or 1) + 1
        for token in db.session.scalars(sa.select(ApiToken).where(
                ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
            token.revoked_at = utcnow()
    audit.record(actor, "enable" if active else "disable", "user", user.id,
                 enterprise_id=user.enterprise_id, summary=user.username,
                 changes={"active": [not active, active]})
    db.session.flush()


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str) -> tuple[str, ApiToken]:
    """Create a bearer token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, token_hash=_digest(raw), prefix=raw[:10], name=name,
        expires_at=utcnow() + timedelta(days=current_app.config["API_TOKEN_DAYS"]),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(user, "token", "api_token", token.id, enterprise_id=user.enterprise_id,
                 summary=f"{name} {token.prefix}…")
    return raw, token


def find_token(raw: str) -> ApiToken | None:
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(raw)))


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    token = find_token(raw)
    if token is None or not token.is_valid:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        db.session.commit()
    return token.user, token


def revoke_token(actor: User, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.record(actor, "revoke", "api_token", token.id, enterprise_id=token.user.enterprise_id,
                 summary=f"{token.name} {token.prefix}…")
    db.session.flush()
