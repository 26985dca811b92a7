"""Logging in (with slow-down and lock-out), passwords, users and API tokens."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.core.timeutil import utcnow
from emergency.auth.models import ApiToken, LoginFailure, Role, User, UserSession
from emergency.core.api import TOKEN_USER

logger = logging.getLogger(__name__)

#: Compared against when the username is unknown, so both cases take as long.
_DUMMY_HASH = generate_password_hash("not a real password")
TOKEN_PREFIX = "ept_"


class LoginRefused(Exception):
    """Login did not succeed; ``str(exc)`` is the message to show."""


def find_user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))


def _claim_attempt(table: Any, key: Any, now: datetime) -> tuple[int, datetime | None] | None:
    """Count one login attempt before its password is checked, in one conditional UPDATE.

    The attempt is counted as a failure up front, with the wait or lock that failure earns;
    a right password undoes it afterwards. The UPDATE only matches while no wait or lock is
    running, and the database serialises concurrent UPDATEs of a row (SQLite locks the file,
    PostgreSQL re-checks the condition on the row it waited for), so parallel attempts each
    get their own count and no more attempts are checked than the throttle allows.
    Returns the failures counted with this attempt and the wait it set, or None when a wait
    or lock is running (nothing counted) or the row does not exist.
    """
    config = current_app.config
    slowdown, lock = config["LOGIN_SLOWDOWN_AFTER"], config["LOGIN_LOCK_AFTER"]
    column_type = table.next_attempt_at.type
    # A lock that has passed starts the count afresh (the slowdown applies again).
    failures = sa.case((table.failed_logins >= lock, 1), else_=sa.func.coalesce(table.failed_logins, 0) + 1)
    waits = [(failures >= lock, sa.literal(now + timedelta(minutes=config["LOGIN_LOCK_MINUTES"]), column_type))]
    waits += [(failures == n, sa.literal(now + timedelta(seconds=2 ** (n - slowdown)), column_type))
              for n in range(slowdown, lock)]
    values: dict[str, Any] = {"failed_logins": failures, "next_attempt_at": sa.case(*waits, else_=sa.null())}
    if table is LoginFailure:
        values["last_attempt_at"] = now
    statement = (
        sa.update(table)
        .where(key, sa.or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now))
        .values(values)
        .returning(table.failed_logins, table.next_attempt_at)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(statement).first()
    db.session.commit()  # visible to (and unblocking) every other attempt before the slow hash
    return None if row is None else (row[0], row[1])


def _unknown_name_row(username: str, now: datetime) -> None:
    """Make sure a counter row exists for a username that has no account."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.last_attempt_at < now - timedelta(days=1)))
    db.session.execute(insert(LoginFailure).values(
        username=username, failed_logins=0, last_attempt_at=now).on_conflict_do_nothing())


def _refusal(failed_logins: int, next_attempt_at: datetime, now: datetime) -> LoginRefused:
    """The answer to an attempt made while a wait or lock runs (the password is not checked)."""
    if failed_logins >= current_app.config["LOGIN_LOCK_AFTER"]:
        return LoginRefused(_(
            "Too many failed logins: this account is locked until %(time)s.",
            time=format_datetime(next_attempt_at, "HH:mm"),
        ))
    seconds = max(1, int((next_attempt_at - now).total_seconds() + 0.999))
    return LoginRefused(_("Too many failed logins: wait %(seconds)s seconds before trying again.", seconds=seconds))


def authenticate(username: str, password: str, now: datetime | None = None) -> User:
    """Check a login; throttles and locks the account on repeated failures.

    Every attempt is counted atomically before its password is checked (see
    ``_claim_attempt``). Usernames without an account are counted and answered the same
    way (``LoginFailure``), so that neither the messages nor the work done tell which
    usernames exist. Commits its own counting; the caller commits the rest.
    """
    now = now or utcnow()
    config = current_app.config
    name = username.strip().lower()
    claimed = _claim_attempt(User, User.username == name, now)
    user = None
    if claimed is None:
        user = find_user(name)
        if user is None:
            _unknown_name_row(name, now)
            claimed = _claim_attempt(LoginFailure, LoginFailure.username == name, now)
    if claimed is None:
        row = user or db.session.get(LoginFailure, name)
        raise _refusal(row.failed_logins, row.next_attempt_at, now)
    failures, _wait = claimed
    user = user or find_user(name)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        right = False
    else:
        right = user.check_password(password)
    if not right:
        if failures >= config["LOGIN_LOCK_AFTER"]:
            if user is not None:
                audit.record(None, "lock", "user", user.id, enterprise_id=user.enterprise_id,
                             summary=user.username, changes={"failed_logins": failures})
                db.session.flush()
            logger.warning("login name %s locked after %s failed logins", name, failures)
            raise LoginRefused(_(
                "Too many failed logins: this account is locked for %(minutes)s minutes.",
                minutes=config["LOGIN_LOCK_MINUTES"],
            ))
        raise LoginRefused(_("Wrong username or password."))
    # The right password: the attempt counted up front is undone, with any failures before it.
    user.failed_logins = 0
    user.next_attempt_at = None
    if not user.active:
        db.session.flush()
        raise LoginRefused(_("This account is disabled. Ask the administrator."))
    user.last_login_at = now
    db.session.flush()
    return user


def change_password(user: User, new_password: str, actor: User | None = None) -> None:
    """Set a new password: every session and API token of the user ends (the caller starts a
    new session for the browser that changed its own password)."""
    user.set_password(new_password)
    user.session_version = (user.session_version or 1) + 1
    user.must_change_password = actor is not None and actor.id != user.id
    sessions = end_sessions(user)
    tokens = _revoke_all_tokens(user)
    audit.record(actor or user, "password", "user", user.id, enterprise_id=user.enterprise_id,
                 summary=user.username, changes={"sessions_ended": sessions, "tokens_revoked": tokens})
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
        end_sessions(user)
        _revoke_all_tokens(user)
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


def must_change_message() -> str:
    return _("This account has a temporary password: log in on the web page and choose a new "
             "password before using the API.")


def api_user_for(raw: str) -> User:
    """The user of a bearer token, for ``emergency.core.api``: 401 for an unknown, expired or
    revoked token, 403 while the user must change a temporary password."""
    found = user_for_token(raw)
    if found is None:
        abort(401, description=_("The token is unknown, expired or revoked."))
    if found[0].must_change_password:
        abort(403, description=must_change_message())
    return found[0]


def init_app(app) -> None:
    """The API authenticates bearer tokens through this domain."""

    app.extensions[TOKEN_USER] = api_user_for


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


def _revoke_all_tokens(user: User) -> int:
    """Revoke every live API token of ``user``; returns how many."""
    result = db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


# --- server-side sessions ----------------------------------------------------------------

def start_session(user: User, remote_addr: str | None = None, user_agent: str | None = None) -> str:
    """Open a session for a browser; returns the value its cookie carries (stored hashed)."""
    now = utcnow()
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id, sa.or_(
        UserSession.expires_at < now, UserSession.revoked_at.is_not(None))))
    raw = secrets.token_urlsafe(32)
    db.session.add(UserSession(
        user_id=user.id, token_hash=_digest(raw), created_at=now, last_seen_at=now,
        expires_at=now + timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"]),
        remote_addr=(remote_addr or "")[:64],
        # Printable only: PostgreSQL refuses NUL, and admins read it.
        user_agent="".join(c for c in (user_agent or "")[:200] if c.isprintable()),
    ))
    db.session.flush()
    return raw


def session_user(user_id: int, raw: str | None) -> User | None:
    """The user of a live session ``raw`` belonging to ``user_id``, else None."""
    if not raw:
        return None
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == _digest(raw)))
    now = utcnow()
    if row is None or row.user_id != user_id or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at is None or now - row.last_seen_at > timedelta(minutes=5):
        row.last_seen_at = now
        db.session.commit()
    return row.user


def end_session(raw: str | None) -> None:
    """Revoke one session (logging out)."""
    if raw:
        db.session.execute(sa.update(UserSession).where(
            UserSession.token_hash == _digest(raw), UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def live_sessions(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(UserSession.id)).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow())) or 0


def end_sessions(user: User, actor: User | None = None) -> int:
    """Revoke every live session of ``user``; with ``actor`` (an admin's "end sessions") the
    action is audited. Returns how many ended."""
    count = live_sessions(user)
    db.session.execute(sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
    if actor is not None:
        audit.record(actor, "end_sessions", "user", user.id, enterprise_id=user.enterprise_id,
                     summary=user.username, changes={"sessions_ended": count})
    db.session.flush()
    return count
