"""Users, roles and API tokens."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from emergency.core.extensions import db
from emergency.core.roles import ROLE_LABELS, Role  # noqa: F401 - users carry a role
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)", name="enterprise_binding"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name, unique, compared case-insensitively (stored lower-case).
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(sa.Enum(Role, native_enum=False, length=20, validate_strings=True))
    #: The one enterprise an ``enterprise`` user belongs to; NULL for every other role.
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    #: Disabled users cannot log in or use their tokens.
    active: Mapped[bool] = mapped_column(default=True)
    #: Failed logins since the last success; drives slow-down and lock-out.
    failed_logins: Mapped[int] = mapped_column(default=0)
    #: No login attempt is checked before this time (slow-down or lock-out).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped on password change or reset: older sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    #: The user must choose a new password at next login (after an admin reset).
    must_change_password: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise | None] = relationship()

    def set_password(self, password: str) -> None:
        from flask import current_app

        self.password_hash = generate_password_hash(
            password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        # The session version is part of the id, so a password change ends other sessions.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_officer(self) -> bool:
        """Admins, officers and viewers all see the whole county."""
        return self.role in (Role.admin, Role.officer, Role.viewer)

    @property
    def can_edit_register(self) -> bool:
        return self.role in (Role.admin, Role.officer)

    def __str__(self) -> str:
        return self.display_name or self.username


class ApiToken(db.Model):
    """A bearer token for integrations. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: SHA-256 hex digest of the token.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The first characters of the token, to tell tokens apart in lists.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow() and self.user.active


class UserSession(db.Model):
    """A logged-in browser: the server-side identity a session cookie refers to.

    The cookie carries a random value whose SHA-256 is stored here; a session counts only
    while its row exists, is not revoked and has not expired, so logging out, changing or
    resetting the password, disabling the user and an admin's "end sessions" end it on the
    server, also for a copy of the cookie.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: SHA-256 hex digest of the value in the session cookie.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Where the login came from (shown to admins).
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """Failed-login counters for usernames that have no account.

    An unknown name is slowed down and locked exactly like a real one, so the answers to
    repeated wrong passwords do not tell which usernames exist.
    """

    __tablename__ = "login_failure"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Rows idle for a day are forgotten (bounded table under a spray of made-up names).
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
