"""Pages: login, logout, own password and tokens, and user administration."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError

from emergency.core.access import require_roles
from emergency.core.extensions import db, login_manager
from emergency.organisations.models import Enterprise
from emergency.core.search import matches
from emergency.core.validation import first_errors
from emergency.core.forms import load_form, save
from emergency.auth import operations
from emergency.auth.models import ROLE_LABELS, ApiToken, Role, User
from emergency.auth.schemas import LoginInput, PasswordChange, UserInput

bp = Blueprint("auth", __name__)
#: The session-cookie key holding the browser's server-side session (``UserSession``).
SESSION_KEY = "_sid"
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
blueprints = (bp, admin_bp)


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        ident, _sep, version = user_id.partition(":")
        if not ident.isdigit():
            return None
        # A cookie counts only while its server-side session lives (see UserSession).
        user = operations.session_user(int(ident), session.get(SESSION_KEY))
        if user is None or str(user.session_version) != version or not user.active:
            return None
        return user

    @app.before_request
    def force_password_change():
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in {"auth.password", "auth.logout", "static", "web.set_language"}
            and not request.path.startswith("/api/")
        ):
            return redirect(url_for("auth.password"))
        return None


def is_local_path(target: str | None) -> bool:
    """True for a path on this site; refuses other hosts, also when disguised.

    Browsers read a backslash as a slash and drop tabs and newlines, so such a path could
    still lead to another host.
    """
    if not target or not target.startswith("/"):
        return False
    if any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    return not target.startswith("//")


def _safe_next(target: str | None) -> str:
    return target if is_local_path(target) else url_for("web.index")


def _log_in(user: User) -> None:
    """Start a server-side session for this browser and put it in the cookie.

    The CSRF token is rotated too: a token seen before the login does not work after it.
    """
    raw = operations.start_session(user, request.remote_addr, request.user_agent.string)
    db.session.commit()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)
    session[SESSION_KEY] = raw
    login_user(user)


def _log_out() -> None:
    operations.end_session(session.pop(SESSION_KEY, None))
    db.session.commit()
    logout_user()
    session.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    errors: dict[str, str] = {}
    message = None
    values = {}
    if request.method == "POST":
        data, errors, values = load_form(LoginInput())
        if data:
            try:
                user = operations.authenticate(data["username"], data["password"])
            except operations.LoginRefused as refused:
                db.session.commit()  # keep the failure count
                message = str(refused)
            else:
                db.session.commit()
                _log_in(user)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", errors=errors, message=message, values=values), (
        401 if message else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    _log_out()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors, _values = load_form(PasswordChange())
        if data:
            if not current_user.check_password(data["current_password"]):
                errors = {"current_password": _("The current password is wrong.")}
            else:
                user = current_user._get_current_object()  # the proxy itself cannot be logged in
                operations.change_password(user, data["new_password"])
                db.session.commit()
                _log_in(user)  # every session ended: this browser gets a new one
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("web.index"))
    return render_template("auth/password.html", errors=errors)


@bp.route("/account/tokens")
@login_required
def tokens():
    rows = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("auth/tokens.html", tokens=rows)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != current_user.id and current_user.role != Role.admin):
        abort(404)
    operations.revoke_token(current_user, token)
    db.session.commit()
    flash(_("The token has been revoked."), "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("auth.tokens"))


# --- administration --------------------------------------------------------------------

def _form_options() -> dict:
    enterprises = db.session.execute(sa.select(Enterprise.id, Enterprise.name).order_by(Enterprise.name)).all()
    return {
        "role_options": [(role.value, str(label)) for role, label in ROLE_LABELS.items()],
        "enterprise_options": [(row.id, row.name) for row in enterprises],
    }


@admin_bp.route("/users")
@require_roles(Role.admin)
def users():
    role = request.args.get("role")
    query = sa.select(User).order_by(User.role, User.username)
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(matches(q, User.username, User.display_name))
    page = db.paginate(query, per_page=50)
    return render_template("admin/users.html", page=page, roles=ROLE_LABELS)


@admin_bp.route("/users/new", methods=["GET", "POST"])
@require_roles(Role.admin)
def user_new():
    errors: dict[str, str] = {}
    values: dict = {}
    if request.method == "POST":
        data, errors, values = load_form(UserInput())
        if data:
            temporary = operations.temporary_password()
            user, errors = save(lambda: operations.create_user(current_user, data, temporary))
            if not errors:
                flash(_("User %(name)s created. Temporary password: %(password)s — it must be changed at first login.",
                        name=user.username, password=temporary), "success")
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", user=None, errors=errors, values=values,
                           **_form_options())


@admin_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_roles(Role.admin)
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    errors: dict[str, str] = {}
    values = {"username": user.username, "display_name": user.display_name,
              "role": user.role.value, "enterprise_id": user.enterprise_id}
    if request.method == "POST":
        data, errors, values = load_form(UserInput())
        if data:
            _result, errors = save(lambda: operations.update_user(current_user, user, data))
            if not errors:
                flash(_("Saved."), "success")
                return redirect(url_for("admin.users"))
    user_tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())).all()
    return render_template("admin/user_form.html", user=user, errors=errors, values=values,
                           tokens=user_tokens, sessions=operations.live_sessions(user), **_form_options())


@admin_bp.route("/users/<int:user_id>/active", methods=["POST"])
@require_roles(Role.admin)
def user_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    try:
        operations.set_user_active(current_user, user, active)
    except ValidationError as exc:
        db.session.rollback()
        flash("; ".join(first_errors(exc.messages).values()), "error")
    else:
        db.session.commit()
        flash(_("User enabled.") if active else _("User disabled."), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@admin_bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@require_roles(Role.admin)
def user_reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    temporary = operations.reset_password(current_user, user)
    db.session.commit()
    flash(_("New temporary password for %(name)s: %(password)s — it must be changed at next login.",
            name=user.username, password=temporary), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@admin_bp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
@require_roles(Role.admin)
def user_end_sessions(user_id: int):
    """Log the user out everywhere (their API tokens are revoked one by one on the same page)."""
    user = db.get_or_404(User, user_id)
    count = operations.end_sessions(user, actor=current_user)
    db.session.commit()
    flash(_("Sessions of %(name)s ended: %(count)s.", count=count, name=user.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))
