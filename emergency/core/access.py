"""Who may see and change what. Every page and endpoint asks here.

Officers (admin, officer, viewer) see the whole county; admins and officers change it.
An enterprise user sees and changes only its own enterprise's records. Records outside a
user's reach answer 404, so that their existence is not revealed.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import abort
from flask_login import current_user, login_required

from emergency.core.extensions import db
from emergency.core.roles import Role

if TYPE_CHECKING:
    from emergency.auth.models import User


def require_roles(*roles: Role) -> Callable:
    """Page decorator: log in, then the user's role must be one of ``roles``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


OFFICERS = (Role.admin, Role.officer, Role.viewer)
EDITORS = (Role.admin, Role.officer)
#: Records an enterprise keeps itself and officers keep for it (plans, drills, contacts):
#: which enterprise's records a writer reaches is checked per record (``record_for``).
WRITERS = (Role.admin, Role.officer, Role.enterprise)


def scope_to_user(query, user: User, enterprise_column):
    """Restrict a select to the records ``user`` may see, by their enterprise column."""
    if user.is_officer:
        return query
    return query.where(enterprise_column == user.enterprise_id)


def can_see_enterprise(user: User, enterprise_id: int | None) -> bool:
    return user.is_officer or (enterprise_id is not None and enterprise_id == user.enterprise_id)


def check_enterprise(user: User, enterprise_id: int | None) -> None:
    """Abort with 404 unless ``user`` may see records of ``enterprise_id``."""
    if not can_see_enterprise(user, enterprise_id):
        abort(404)


def check_can_edit_enterprise(user: User, enterprise_id: int | None) -> None:
    """404 for records out of reach, 403 for read-only users."""
    check_enterprise(user, enterprise_id)
    if user.role == Role.viewer:
        abort(403)


def record_for(user: User, model, record_id: int, *, edit: bool = False):
    """The ``model`` row with ``record_id`` if ``user`` may see it (and, with ``edit``, change
    it): 404 when it is missing or out of reach, 403 for read-only users who would change it."""
    record = db.get_or_404(model, record_id)
    (check_can_edit_enterprise if edit else check_enterprise)(user, record.enterprise_id)
    return record
