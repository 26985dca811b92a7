"""Logging in, throttling, passwords, sessions, CSRF, user administration, language, CLI.

Every test drives the application the way a person or an integration does: through the
login page, the forms, the API and the ``flask`` commands, and then looks at the database.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g

from emergency.audit.models import AuditEntry
from emergency.auth import operations
from emergency.auth.models import ApiToken, Role, User
from emergency.core.extensions import db
from emergency.core.timeutil import utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "Brand-new-pass-42"


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """Give every request its own ``g``, as production does.

    The ``app`` fixture keeps one application context pushed for the whole test, and Flask
    reuses a pushed context for each test request, so ``g`` would carry Flask-Login's cached
    user, Flask-WTF's CSRF token and Flask-Babel's locale from one request (and one browser)
    to the next.
    """

    def forget(_error=None):
        for name in list(g):
            g.pop(name, None)

    app.teardown_request(forget)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def user_named(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def audit_actions(object_type: str, object_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == object_id).order_by(AuditEntry.id)))


def english(client) -> None:
    """Switch a browser session to English so that messages can be read in tests."""
    assert client.post("/lang/en").status_code == 302


def post_login(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def is_logged_in(client) -> bool:
    response = client.get("/account/password")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    return False


@pytest.fixture
def en_client(client):
    english(client)
    return client


@pytest.fixture
def new_client(app):
    """Another browser: its own cookie jar, in English."""

    def make():
        other = app.test_client()
        english(other)
        return other

    return make


# --- logging in ---------------------------------------------------------------------------

def test_login_page_and_success(en_client, people):
    page = en_client.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in text_of(page) and 'name="password"' in text_of(page)

    response = post_login(en_client, "ent-a", PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(en_client)
    assert user_named("ent-a").last_login_at is not None
    # Once logged in, the login page sends the user on.
    assert en_client.get("/login").status_code == 302


def test_username_is_case_insensitive(en_client, people):
    assert post_login(en_client, "  ENT-A ", PASSWORD).status_code == 302


def test_login_failure_shows_message_and_counts(en_client, people):
    response = post_login(en_client, "ent-a", "wrong password")
    assert response.status_code == 401
    assert "Wrong username or password." in text_of(response)
    assert not is_logged_in(en_client)
    assert user_named("ent-a").failed_logins == 1

    unknown = post_login(en_client, "nobody", "whatever")
    assert unknown.status_code == 401
    # Unknown users get the very same message: no hint which usernames exist.
    assert "Wrong username or password." in text_of(unknown)


def test_login_next_parameter_is_local_only(en_client, people):
    ok = en_client.post("/login?next=/audit", data={"username": "duty", "password": PASSWORD})
    assert ok.headers["Location"] == "/audit"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        en_client.post("/logout")
        response = en_client.post("/login", query_string={"next": evil},
                                  data={"username": "duty", "password": PASSWORD})
        assert response.status_code == 302
        assert response.headers["Location"] == "/", evil


def test_empty_login_form_is_an_error_not_a_crash(en_client, people):
    response = en_client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 200
    assert not is_logged_in(en_client)
    assert user_named("ent-a").failed_logins == 0


# --- throttling: slow-down and lock-out --------------------------------------------------

def test_slowdown_then_lock_with_simulated_clock(app, people):
    """Drive ``authenticate`` with an explicit clock instead of sleeping."""
    slowdown, lock = app.config["LOGIN_SLOWDOWN_AFTER"], app.config["LOGIN_LOCK_AFTER"]
    assert 1 <= slowdown < lock
    t = utcnow()
    with app.test_request_context("/api/v1/auth/token", headers={"Accept-Language": "en"}):
        for attempt in range(1, slowdown + 1):
            with pytest.raises(operations.LoginRefused, match="Wrong username or password"):
                operations.authenticate("ent-a", "bad", now=t)
        user = user_named("ent-a")
        assert user.failed_logins == slowdown
        assert user.next_attempt_at == t + timedelta(seconds=1)

        # During the wait even the right password is refused, and says how long to wait.
        with pytest.raises(operations.LoginRefused) as refused:
            operations.authenticate("ent-a", PASSWORD, now=t)
        assert "wait 1 seconds" in str(refused.value)
        # A wrong guess during the wait is not even checked and does not count.
        with pytest.raises(operations.LoginRefused, match="wait"):
            operations.authenticate("ent-a", "bad", now=t)
        assert user_named("ent-a").failed_logins == slowdown

        # Each further failure doubles the wait.
        for failures in range(slowdown + 1, lock):
            t = user_named("ent-a").next_attempt_at
            with pytest.raises(operations.LoginRefused, match="Wrong username or password"):
                operations.authenticate("ent-a", "bad", now=t)
            expected = 2 ** (failures - slowdown)
            assert user_named("ent-a").next_attempt_at == t + timedelta(seconds=expected)
            with pytest.raises(operations.LoginRefused) as refused:
                operations.authenticate("ent-a", PASSWORD, now=t)
            assert f"wait {expected} seconds" in str(refused.value)

        # The lock-th failure locks the account and writes a 'lock' audit entry.
        t = user_named("ent-a").next_attempt_at
        with pytest.raises(operations.LoginRefused) as refused:
            operations.authenticate("ent-a", "bad", now=t)
        minutes = app.config["LOGIN_LOCK_MINUTES"]
        assert f"locked for {minutes} minutes" in str(refused.value)
        db.session.commit()
        user = user_named("ent-a")
        assert user.failed_logins == lock
        assert user.next_attempt_at == t + timedelta(minutes=minutes)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "lock"))
        assert entry is not None and entry.object_id == user.id and entry.summary == "ent-a"
        assert entry.enterprise_id == people["own"].id and entry.actor == "system"

        # Locked: the right password is refused until the lock has passed.
        with pytest.raises(operations.LoginRefused, match="locked until"):
            operations.authenticate("ent-a", PASSWORD, now=t + timedelta(minutes=minutes - 1))
        # After the lock a mistyped password counts afresh: no instant re-lock.
        with pytest.raises(operations.LoginRefused, match="Wrong username or password"):
            operations.authenticate("ent-a", "bad", now=t + timedelta(minutes=minutes, seconds=1))
        assert user_named("ent-a").failed_logins == 1 and user_named("ent-a").next_attempt_at is None
        ok = operations.authenticate("ent-a", PASSWORD, now=t + timedelta(minutes=minutes, seconds=1))
        assert ok.id == user.id
        db.session.commit()
    user = user_named("ent-a")
    assert user.failed_logins == 0 and user.next_attempt_at is None


def test_login_page_wait_and_lock_messages(en_client, people, app):
    slowdown, lock = app.config["LOGIN_SLOWDOWN_AFTER"], app.config["LOGIN_LOCK_AFTER"]
    for _ in range(slowdown):
        assert post_login(en_client, "ent-a", "bad").status_code == 401
    user = user_named("ent-a")
    assert user.failed_logins == slowdown and user.next_attempt_at is not None
    assert user.next_attempt_at > utcnow() - timedelta(seconds=5)

    # Make the wait long enough that the test cannot outrun it by accident.
    user.next_attempt_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    refused = post_login(en_client, "ent-a", PASSWORD)
    assert refused.status_code == 401
    message = re.search(r"wait (\d+) seconds", text_of(refused))
    assert message and 25 <= int(message.group(1)) <= 30
    assert not is_logged_in(en_client)

    # Move past the wait and fail up to the lock.
    for _ in range(lock - slowdown):
        user = user_named("ent-a")
        user.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        last = post_login(en_client, "ent-a", "bad")
    assert last.status_code == 401
    assert f"locked for {app.config['LOGIN_LOCK_MINUTES']} minutes" in text_of(last)
    assert audit_actions("user", user.id) == ["lock"]

    # Still locked: the right password does not get in, and the message says so.
    locked = post_login(en_client, "ent-a", PASSWORD)
    assert locked.status_code == 401 and "this account is locked until" in text_of(locked)
    assert not is_logged_in(en_client)

    # The lock has passed: success resets the counter.
    user = user_named("ent-a")
    user.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert post_login(en_client, "ent-a", PASSWORD).status_code == 302
    user = user_named("ent-a")
    assert user.failed_logins == 0 and user.next_attempt_at is None


def test_success_resets_failure_counter(en_client, people, app):
    for _ in range(app.config["LOGIN_SLOWDOWN_AFTER"] - 1):
        post_login(en_client, "ent-a", "bad")
    assert user_named("ent-a").failed_logins == app.config["LOGIN_SLOWDOWN_AFTER"] - 1
    assert post_login(en_client, "ent-a", PASSWORD).status_code == 302
    assert user_named("ent-a").failed_logins == 0
    en_client.post("/logout")
    # A fresh failure after the reset does not trigger the slow-down.
    post_login(en_client, "ent-a", "bad")
    assert user_named("ent-a").next_attempt_at is None


def test_api_token_endpoint_shares_the_throttle(client, people, app):
    slowdown, lock = app.config["LOGIN_SLOWDOWN_AFTER"], app.config["LOGIN_LOCK_AFTER"]
    headers = {"Accept-Language": "en"}
    for _ in range(slowdown):
        response = client.post("/api/v1/auth/token", json={"username": "duty", "password": "bad"},
                               headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert "Wrong username or password" in response.get_json()["detail"]
    assert user_named("duty").failed_logins == slowdown
    user = user_named("duty")
    user.next_attempt_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    refused = client.post("/api/v1/auth/token", json={"username": "duty", "password": PASSWORD},
                          headers=headers)
    assert refused.status_code == 401
    assert re.search(r"wait \d+ seconds", refused.get_json()["detail"])
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0

    # Failures on the login page and the API add up to one lock.
    for _ in range(lock - slowdown):
        user = user_named("duty")
        user.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        english(client)
        post_login(client, "duty", "bad")
    assert user_named("duty").failed_logins == lock
    locked = client.post("/api/v1/auth/token", json={"username": "duty", "password": PASSWORD},
                         headers=headers)
    assert locked.status_code == 401 and "locked" in locked.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0

    user = user_named("duty")
    user.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    ok = client.post("/api/v1/auth/token", json={"username": "duty", "password": PASSWORD})
    assert ok.status_code == 201 and ok.get_json()["token"].startswith("ept_")
    assert user_named("duty").failed_logins == 0


# --- disabled users, password storage, cookies ------------------------------------------

def test_disabled_user_cannot_log_in_and_tokens_stop(en_client, people, new_client, token_for):
    headers = token_for("ent-a")
    assert en_client.get("/api/v1/enterprises", headers=headers).status_code == 200
    browser = new_client()
    assert post_login(browser, "ent-a", PASSWORD).status_code == 302
    assert is_logged_in(browser)

    assert post_login(en_client, "admin", PASSWORD).status_code == 302
    target = people["enterprise"]
    response = en_client.post(f"/admin/users/{target.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert user_named("ent-a").active is False
    assert "disable" in audit_actions("user", target.id)

    assert en_client.get("/api/v1/enterprises", headers=headers).status_code == 401
    assert not is_logged_in(browser)  # the open session ended too
    refused = post_login(browser, "ent-a", PASSWORD)
    assert refused.status_code == 401 and "This account is disabled." in text_of(refused)
    api = browser.post("/api/v1/auth/token", json={"username": "ent-a", "password": PASSWORD})
    assert api.status_code == 401

    # Enabled again: logging in works; the old token stays revoked.
    assert en_client.post(f"/admin/users/{target.id}/active", data={"active": "1"}).status_code == 302
    assert user_named("ent-a").active is True
    assert post_login(browser, "ent-a", PASSWORD).status_code == 302
    assert browser.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_passwords_and_tokens_are_stored_hashed(app, client, people, token_for):
    user = user_named("ent-a")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"].split(":")[0] + ":")
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")
    # Two users with the same password get different hashes (salted).
    assert user.password_hash != user_named("duty").password_hash
    # API tokens: only a digest is kept.
    raw = token_for("duty")["Authorization"].split()[1]
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert raw not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64


def test_session_cookie_is_httponly_and_samesite_lax(client, people):
    response = post_login(client, "duty", PASSWORD)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_logout_ends_session(en_client, people):
    post_login(en_client, "duty", PASSWORD)
    assert is_logged_in(en_client)
    response = en_client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_logged_in(en_client)


# --- CSRF ---------------------------------------------------------------------------------

def test_csrf_token_required_when_enabled(app, client, people, login):
    login("duty")  # CSRF off while logging in through the fixture
    app.config["WTF_CSRF_ENABLED"] = True
    before = user_named("duty").password_hash

    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert user_named("duty").password_hash == before

    response = client.post(f"/enterprises/{people['own'].id}/edit", data={"address": "被篡改"})
    assert response.status_code == 400
    assert db.session.get(type(people["own"]), people["own"].id).address != "被篡改"

    other = app.test_client()
    assert other.post("/login", data={"username": "ent-a", "password": "bad"}).status_code == 400
    assert user_named("ent-a").failed_logins == 0
    assert other.post("/login", data={"username": "ent-a", "password": PASSWORD}).status_code == 400
    assert not is_logged_in(other)

    # With the token from the form the same request goes through.
    page = other.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    ok = other.post("/login", data={"username": "ent-a", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302 and is_logged_in(other)

    # The API uses bearer tokens and is exempt.
    api = other.post("/api/v1/auth/token", json={"username": "ent-a", "password": PASSWORD})
    assert api.status_code == 201


# --- own password --------------------------------------------------------------------------

def change(client, current: str, new: str, confirm: str | None = None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm})


def test_change_password_wrong_current(en_client, people):
    post_login(en_client, "duty", PASSWORD)
    before = user_named("duty").password_hash
    response = change(en_client, "not my password", NEW_PASSWORD)
    assert response.status_code == 200
    assert "The current password is wrong." in text_of(response)
    assert user_named("duty").password_hash == before
    assert audit_actions("user", people["officer"].id) == []


WEAK_PASSWORDS = [
    ("short-1", "Use at least 10 characters."),
    ("onlyletterspassword", "Mix at least two of: letters, digits, symbols."),
    ("12345678901234", "Mix at least two of: letters, digits, symbols."),
]


def test_change_password_weak(en_client, people):
    post_login(en_client, "duty", PASSWORD)
    before = user_named("duty").password_hash
    for weak, rule in WEAK_PASSWORDS:
        response = change(en_client, PASSWORD, weak)
        assert response.status_code == 200
        assert rule in text_of(response), weak
        assert user_named("duty").password_hash == before


def test_change_password_confirmation_must_match(en_client, people):
    post_login(en_client, "duty", PASSWORD)
    response = change(en_client, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert "The two new passwords differ." in text_of(response)
    assert user_named("duty").check_password(PASSWORD)


def test_change_password_ends_other_sessions(en_client, people, new_client):
    post_login(en_client, "duty", PASSWORD)
    second = new_client()
    assert post_login(second, "duty", PASSWORD).status_code == 302
    version = user_named("duty").session_version

    response = change(en_client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Your password has been changed." in text_of(en_client.get("/"))
    user = user_named("duty")
    assert user.session_version == version + 1
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert audit_actions("user", user.id) == ["password"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password"))
    assert entry.actor == "duty"

    assert is_logged_in(en_client)  # this browser stays in
    assert not is_logged_in(second)  # the other one is out
    assert post_login(second, "duty", PASSWORD).status_code == 401
    assert post_login(second, "duty", NEW_PASSWORD).status_code == 302


# --- administration -----------------------------------------------------------------------

def flashed_password(response) -> str:
    found = re.search(r"(?:Temporary password|New temporary password for \S+): (\S+) —", text_of(response))
    assert found, text_of(response)[:2000]
    return found.group(1)


def test_admin_creates_user_with_temporary_password(en_client, people, new_client):
    post_login(en_client, "admin", PASSWORD)
    assert en_client.get("/admin/users/new").status_code == 200
    response = en_client.post("/admin/users/new", data={
        "username": "Zhao.Wei", "display_name": "赵伟", "role": "officer", "enterprise_id": ""})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    listing = en_client.get("/admin/users")
    temporary = flashed_password(listing)
    assert "zhao.wei" in text_of(listing)
    # Shown once only.
    assert temporary not in text_of(en_client.get("/admin/users"))

    user = user_named("zhao.wei")
    assert user.role == Role.officer and user.must_change_password
    assert temporary not in user.password_hash
    assert audit_actions("user", user.id) == ["create"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.object_type == "user"))
    assert "password_hash" not in entry.changes

    browser = new_client()
    assert post_login(browser, "zhao.wei", temporary).status_code == 302
    for path in ("/", "/enterprises", "/audit", "/account/tokens"):
        forced = browser.get(path)
        assert forced.status_code == 302 and forced.headers["Location"] == "/account/password", path
    assert browser.get("/account/password").status_code == 200
    assert change(browser, temporary, NEW_PASSWORD).status_code == 302
    assert user_named("zhao.wei").must_change_password is False
    assert browser.get("/enterprises").status_code == 200


def test_admin_create_user_validation(en_client, people):
    post_login(en_client, "admin", PASSWORD)
    count = db.session.scalar(sa.select(sa.func.count(User.id)))

    no_enterprise = en_client.post("/admin/users/new", data={
        "username": "factory", "display_name": "工厂", "role": "enterprise", "enterprise_id": ""})
    assert no_enterprise.status_code == 200
    assert "An enterprise user must belong to an enterprise." in text_of(no_enterprise)

    officer_with_enterprise = en_client.post("/admin/users/new", data={
        "username": "factory", "display_name": "工厂", "role": "officer",
        "enterprise_id": str(people["own"].id)})
    assert "Only enterprise users belong to an enterprise." in text_of(officer_with_enterprise)

    taken = en_client.post("/admin/users/new", data={
        "username": "DUTY", "display_name": "x", "role": "officer", "enterprise_id": ""})
    assert "This username is taken." in text_of(taken)

    bad_name = en_client.post("/admin/users/new", data={
        "username": "has space", "display_name": "x", "role": "officer", "enterprise_id": ""})
    assert "Letters, digits, dot, dash and underscore only." in text_of(bad_name)

    assert db.session.scalar(sa.select(sa.func.count(User.id))) == count

    ok = en_client.post("/admin/users/new", data={
        "username": "factory", "display_name": "工厂", "role": "enterprise",
        "enterprise_id": str(people["own"].id)})
    assert ok.status_code == 302
    assert user_named("factory").enterprise_id == people["own"].id


def test_admin_edits_role(en_client, people, new_client):
    post_login(en_client, "admin", PASSWORD)
    viewer = people["viewer"]
    page = en_client.get(f"/admin/users/{viewer.id}")
    assert page.status_code == 200 and 'value="viewer"' in text_of(page)
    response = en_client.post(f"/admin/users/{viewer.id}", data={
        "username": "viewer", "display_name": "林华", "role": "officer", "enterprise_id": ""})
    assert response.status_code == 302
    user = user_named("viewer")
    assert user.role == Role.officer and user.display_name == "林华"
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "update", AuditEntry.object_id == viewer.id))
    assert entry.changes["role"] == ["viewer", "officer"]

    # The promoted user can now edit the register.
    browser = new_client()
    post_login(browser, "viewer", PASSWORD)
    assert browser.get("/enterprises/new").status_code == 200

    # An admin cannot change their own role.
    me = people["admin"]
    own = en_client.post(f"/admin/users/{me.id}", data={
        "username": "admin", "display_name": "admin", "role": "viewer", "enterprise_id": ""})
    assert "You cannot change your own role." in text_of(own)
    assert user_named("admin").role == Role.admin


def test_admin_cannot_disable_self(en_client, people):
    post_login(en_client, "admin", PASSWORD)
    me = people["admin"]
    response = en_client.post(f"/admin/users/{me.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "You cannot disable yourself." in text_of(response)
    assert user_named("admin").active is True
    assert is_logged_in(en_client)


def test_admin_resets_password(en_client, people, new_client):
    target = people["officer"]
    victim_browser = new_client()
    post_login(victim_browser, "duty", PASSWORD)

    post_login(en_client, "admin", PASSWORD)
    user = user_named("duty")
    user.failed_logins, user.next_attempt_at = 5, utcnow() + timedelta(minutes=1)
    db.session.commit()
    response = en_client.post(f"/admin/users/{target.id}/reset-password", follow_redirects=True)
    temporary = flashed_password(response)
    user = user_named("duty")
    assert user.must_change_password and user.failed_logins == 0 and user.next_attempt_at is None
    assert audit_actions("user", target.id) == ["password"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password"))
    assert entry.actor == "admin"

    assert not is_logged_in(victim_browser)
    assert post_login(victim_browser, "duty", PASSWORD).status_code == 401
    assert post_login(victim_browser, "duty", temporary).status_code == 302
    assert victim_browser.get("/").headers["Location"] == "/account/password"
    assert change(victim_browser, temporary, NEW_PASSWORD).status_code == 302
    assert victim_browser.get("/").status_code == 200


def test_non_admins_get_403_on_admin_pages(app, people):
    other = people["other_enterprise"].id
    for username in ("duty", "viewer", "ent-a"):
        client = app.test_client()
        assert post_login(client, username, PASSWORD).status_code == 302
        assert client.get("/admin/users").status_code == 403, username
        assert client.get("/admin/users/new").status_code == 403
        assert client.get(f"/admin/users/{other}").status_code == 403
        assert client.post("/admin/users/new", data={
            "username": "sneaky", "display_name": "x", "role": "admin", "enterprise_id": ""}).status_code == 403
        assert client.post(f"/admin/users/{other}/active", data={"active": "0"}).status_code == 403
        assert client.post(f"/admin/users/{other}/reset-password").status_code == 403
    assert user_named("sneaky") is None
    assert user_named("ent-b").active and user_named("ent-b").check_password(PASSWORD)


def test_admin_user_list_filters(en_client, people):
    post_login(en_client, "admin", PASSWORD)
    page = text_of(en_client.get("/admin/users?role=enterprise"))
    assert "ent-a" in page and "ent-b" in page and ">duty<" not in page
    found = text_of(en_client.get("/admin/users?q=ent-b"))
    assert "ent-b" in found and "ent-a" not in found


# --- API token self-service ---------------------------------------------------------------

def test_tokens_list_and_revoke(client, people, token_for, login):
    headers = token_for("duty")
    listed = client.get("/api/v1/auth/tokens", headers=headers)
    assert listed.status_code == 200 and len(listed.get_json()) == 1
    token_id = listed.get_json()[0]["id"]
    assert "token" not in listed.get_json()[0]

    login("duty")
    page = client.get("/account/tokens")
    assert page.status_code == 200 and listed.get_json()[0]["prefix"] in text_of(page)
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/auth/tokens", headers=headers).status_code == 401
    assert "revoke" in audit_actions("api_token", token_id)


def test_api_token_revokes_itself(client, people, token_for):
    headers = token_for("viewer")
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/townships", headers=headers).status_code == 401


def test_expired_token_is_refused(client, people, token_for):
    headers = token_for("viewer")
    token = db.session.scalars(sa.select(ApiToken)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/api/v1/townships", headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


# --- language -----------------------------------------------------------------------------

def test_default_language_is_chinese(client, people, login):
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)
    login("duty")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_switch_to_english(client, people, login):
    login("duty")
    response = client.post("/lang/en", data={"next": "/enterprises"})
    assert response.status_code == 302 and response.headers["Location"] == "/enterprises"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert ">Enterprises</a>" in page
    # Back to Chinese.
    client.post("/lang/zh_CN")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_foreign_targets_and_codes(client, people):
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = client.post("/lang/en", data={"next": evil})
        assert response.headers["Location"] == "/", evil
    client.post("/lang/xx")
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)  # still English


# --- command line -------------------------------------------------------------------------

def test_demo_load_with_password(app, runner):
    from emergency.organisations.credit_code import problem
    from emergency.organisations.models import Enterprise, Township

    app.config["DEMO_PASSWORD"] = "Demo-pass-2026"
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count(Township.id))) == 8
    enterprises = db.session.scalars(sa.select(Enterprise)).all()
    assert len(enterprises) == 40
    assert len({e.credit_code for e in enterprises}) == 40
    assert all(problem(e.credit_code) is None for e in enterprises), [
        (e.credit_code, problem(e.credit_code)) for e in enterprises if problem(e.credit_code)]

    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    expected = {"admin", "duty", "viewer"} | {f"ent{i:02d}" for i in range(1, 41)}
    assert set(users) == expected
    assert (users["admin"].role, users["duty"].role, users["viewer"].role) == (
        Role.admin, Role.officer, Role.viewer)
    bound = {users[f"ent{i:02d}"].enterprise_id for i in range(1, 41)}
    assert bound == {e.id for e in enterprises}
    assert not any(u.must_change_password for u in users.values())

    for username in sorted(expected):
        browser = app.test_client()
        response = browser.post("/login", data={"username": username, "password": "Demo-pass-2026"})
        assert response.status_code == 302, username

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code != 0 and "already" in again.output
    quiet = runner.invoke(args=["demo", "load", "--if-empty"])
    assert quiet.exit_code == 0, quiet.output
    assert db.session.scalar(sa.select(sa.func.count(Enterprise.id))) == 40
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 43


def test_demo_load_random_passwords(app, runner):
    from pathlib import Path

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    logins_file = Path(app.instance_path) / "demo-logins.txt"
    lines = [line.split("\t") for line in logins_file.read_text().splitlines()]
    assert len(lines) == 43
    assert oct(logins_file.stat().st_mode & 0o777) == "0o600"
    username, password = lines[0][0], lines[0][1]
    assert username == "admin"
    response = app.test_client().post("/login", data={"username": username, "password": password})
    assert response.status_code == 302
    ent = next(line for line in lines if line[0] == "ent07")
    assert app.test_client().post("/login", data={"username": "ent07", "password": ent[1]}).status_code == 302


def test_users_create_command(app, runner, county):
    result = runner.invoke(args=["users", "create", "Boss", "--role", "admin", "--name", "局长"],
                           input="Strong-pass-123\nStrong-pass-123\n")
    assert result.exit_code == 0, result.output
    user = user_named("boss")
    assert user.role == Role.admin and user.display_name == "局长" and not user.must_change_password
    assert app.test_client().post("/login", data={"username": "boss", "password": "Strong-pass-123"}
                                  ).status_code == 302
    assert audit_actions("user", user.id) == ["create"]

    weak = runner.invoke(args=["users", "create", "weakling"], input="short\nshort\n")
    assert weak.exit_code != 0 and user_named("weakling") is None
    dup = runner.invoke(args=["users", "create", "BOSS"], input="Strong-pass-123\nStrong-pass-123\n")
    assert dup.exit_code != 0
    no_enterprise = runner.invoke(args=["users", "create", "plant", "--role", "enterprise"],
                                  input="Strong-pass-123\nStrong-pass-123\n")
    assert no_enterprise.exit_code != 0 and user_named("plant") is None


# --- issue 15: racing the lock-out, enumeration, tokens, server-side sessions, CSRF ---------

def _wrong_login_burst(app, via: str, username: str, attempts: int = 40) -> list[tuple[int, str]]:
    """Fire ``attempts`` wrong logins for one user at once, each from its own browser (thread).

    Returns each answer as (status, message).
    """
    import threading

    clients = [app.test_client() for _ in range(attempts)]
    if via == "page":
        for browser in clients:
            english(browser)
    barrier = threading.Barrier(attempts)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def attempt(browser) -> None:
        barrier.wait()
        if via == "api":
            response = browser.post("/api/v1/auth/token", json={"username": username, "password": "wrong-guess"},
                                    headers={"Accept-Language": "en"})
            answer = (response.status_code, response.get_json()["detail"])
        else:
            response = post_login(browser, username, "wrong-guess")
            found = re.search(r"(Wrong username or password\.|Too many failed logins:[^<]*)", text_of(response))
            answer = (response.status_code, found.group(1) if found else text_of(response)[:300])
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=attempt, args=(browser,)) for browser in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("slowdown, lock", [(3, 8), (8, 8)], ids=["slowdown-then-lock", "lock-only"])
def test_parallel_wrong_logins_each_count_and_only_the_allowed_are_checked(app, people, via, slowdown, lock):
    """40 wrong logins at once: each is counted atomically before its password is checked,
    so the counter equals the guesses checked, never more are checked than the throttle
    allows (``lock`` at most; exactly ``lock`` when there is no slowdown, as the lock lasts
    minutes), and every other attempt is refused unchecked with the wait or lock message."""
    app.config.update(LOGIN_SLOWDOWN_AFTER=slowdown, LOGIN_LOCK_AFTER=lock)
    answers = _wrong_login_burst(app, via, "duty")
    assert len(answers) == 40 and all(status == 401 for status, _message in answers), answers
    checked = [m for _s, m in answers if m == "Wrong username or password." or "locked for" in m]
    refused = [m for _s, m in answers if "wait" in m or "locked until" in m]
    assert len(checked) + len(refused) == 40, answers
    user = user_named("duty")
    # The 1 s wait after the slowdown-th failure may pass during the burst, letting a few
    # more guesses through (as designed); the lock never does.
    assert slowdown <= len(checked) <= lock, answers
    assert user.failed_logins == len(checked), answers  # no attempt lost, none counted twice
    assert user.next_attempt_at is not None
    if slowdown == lock:
        assert sum("locked for" in m for m in checked) == 1
        assert audit_actions("user", user.id) == ["lock"]
    # The right password during the wait or lock is refused as well; after it, it works and
    # resets the counter.
    user.next_attempt_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    assert post_login(app.test_client(), "duty", PASSWORD).status_code == 401
    user = user_named("duty")
    user.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert post_login(app.test_client(), "duty", PASSWORD).status_code == 302
    user = user_named("duty")
    assert user.failed_logins == 0 and user.next_attempt_at is None


def test_unknown_usernames_are_slowed_and_locked_like_real_ones(app, client, people):
    """The answers to a run of wrong passwords are the same whether the username exists or
    not: unknown names are counted, slowed down and locked too."""
    app.config.update(LOGIN_SLOWDOWN_AFTER=4, LOGIN_LOCK_AFTER=4)

    def run(username: str) -> list[tuple[int, str]]:
        answers = []
        for _ in range(3):
            response = client.post("/api/v1/auth/token", json={"username": username, "password": "bad"},
                                   headers={"Accept-Language": "en"})
            answers.append((response.status_code, response.get_json()["detail"]))
        english(client)
        for _ in range(3):
            response = post_login(client, username, "bad")
            found = re.search(r"(Wrong username or password\.|Too many failed logins:[^<]*)", text_of(response))
            answers.append((response.status_code, found.group(1) if found else ""))
        return [(status, re.sub(r"\d\d:\d\d", "HH:MM", message)) for status, message in answers]

    real, made_up = run("ent-a"), run("Ghost")
    assert real == made_up
    assert [m for _s, m in real] == (["Wrong username or password."] * 3
                                     + ["Too many failed logins: this account is locked for 15 minutes."]
                                     + ["Too many failed logins: this account is locked until HH:MM."] * 2)
    assert user_named("ent-a").failed_logins == 4
    # The right password for the real user is refused as well while locked.
    assert post_login(client, "ent-a", PASSWORD).status_code == 401


def test_password_change_revokes_api_tokens(client, people, token_for, login):
    headers = token_for("duty")
    assert client.get("/api/v1/townships", headers=headers).status_code == 200
    login("duty")
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    refused = client.get("/api/v1/townships", headers=headers)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert db.session.scalar(sa.select(ApiToken)).revoked_at is not None
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password"))
    assert entry.changes["tokens_revoked"] == 1
    fresh = token_for("duty", NEW_PASSWORD)
    assert client.get("/api/v1/townships", headers=fresh).status_code == 200


def test_admin_reset_revokes_tokens_and_a_temporary_password_gets_no_token(en_client, people, token_for,
                                                                         new_client):
    headers = token_for("duty")
    assert en_client.get("/api/v1/townships", headers=headers).status_code == 200
    post_login(en_client, "admin", PASSWORD)
    temporary = flashed_password(en_client.post(f"/admin/users/{people['officer'].id}/reset-password",
                                                follow_redirects=True))
    assert en_client.get("/api/v1/townships", headers=headers).status_code == 401

    refused = en_client.post("/api/v1/auth/token", json={"username": "duty", "password": temporary},
                             headers={"Accept-Language": "en"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "temporary password" in refused.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id)).where(ApiToken.revoked_at.is_(None))) == 0
    assert user_named("duty").failed_logins == 0  # the right password is not a failure

    browser = new_client()
    assert post_login(browser, "duty", temporary).status_code == 302
    assert change(browser, temporary, NEW_PASSWORD).status_code == 302
    assert en_client.post("/api/v1/auth/token", json={"username": "duty", "password": NEW_PASSWORD}
                          ).status_code == 201


def test_tokens_are_refused_while_a_temporary_password_is_set(client, people, token_for):
    headers = token_for("ent-a")
    # As left by an admin reset made before tokens were revoked on reset.
    user = user_named("ent-a")
    user.must_change_password = True
    db.session.commit()
    refused = client.get("/api/v1/enterprises", headers={**headers, "Accept-Language": "en"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "temporary password" in refused.get_json()["detail"]


def copy_of_session_cookie(app, browser):
    """Another browser holding a copy of ``browser``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def test_cookie_copied_before_logout_no_longer_opens_pages(app, en_client, people):
    post_login(en_client, "duty", PASSWORD)
    thief = copy_of_session_cookie(app, en_client)
    assert is_logged_in(thief)  # the copy works while the session lives
    en_client.post("/logout")
    assert not is_logged_in(en_client)
    assert not is_logged_in(thief)
    assert thief.get("/enterprises").status_code == 302


def test_password_change_ends_copied_cookies_and_keeps_this_browser(app, en_client, people):
    post_login(en_client, "duty", PASSWORD)
    thief = copy_of_session_cookie(app, en_client)
    assert change(en_client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert is_logged_in(en_client)
    assert not is_logged_in(thief)


def test_disabling_ends_sessions_on_the_server(app, en_client, people, new_client):
    victim = new_client()
    post_login(victim, "ent-a", PASSWORD)
    thief = copy_of_session_cookie(app, victim)
    post_login(en_client, "admin", PASSWORD)
    en_client.post(f"/admin/users/{people['enterprise'].id}/active", data={"active": "0"})
    en_client.post(f"/admin/users/{people['enterprise'].id}/active", data={"active": "1"})
    # Enabled again, but the sessions that were open when it was disabled stay ended.
    assert not is_logged_in(victim) and not is_logged_in(thief)


def test_admin_ends_a_users_sessions(app, en_client, people, new_client):
    target = people["officer"]
    first, second = new_client(), new_client()
    post_login(first, "duty", PASSWORD)
    post_login(second, "duty", PASSWORD)
    thief = copy_of_session_cookie(app, first)

    post_login(en_client, "admin", PASSWORD)
    page = text_of(en_client.get(f"/admin/users/{target.id}"))
    assert re.search(r"Open sessions</dt><dd>2<", page) and "End sessions" in page
    response = en_client.post(f"/admin/users/{target.id}/end-sessions", follow_redirects=True)
    assert "Sessions of duty ended: 2." in text_of(response)
    assert re.search(r"Open sessions</dt><dd>0<", text_of(response))
    assert not is_logged_in(first) and not is_logged_in(second) and not is_logged_in(thief)
    assert is_logged_in(en_client)  # the admin's own session is untouched
    assert audit_actions("user", target.id) == ["end_sessions"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "end_sessions"))
    assert entry.actor == "admin" and entry.changes == {"sessions_ended": 2}
    # Logging in again works.
    assert post_login(first, "duty", PASSWORD).status_code == 302 and is_logged_in(first)

    # Only admins may.
    assert first.post(f"/admin/users/{people['viewer'].id}/end-sessions").status_code == 403


def test_csrf_token_rotates_at_login(app, client, people):
    app.config["WTF_CSRF_ENABLED"] = True

    def token_on(path: str) -> str:
        page = client.get(path)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)

    before = token_on("/login")
    assert client.post("/login", data={"username": "duty", "password": PASSWORD,
                                       "csrf_token": before}).status_code == 302
    after = token_on("/account/password")
    assert after != before
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    # A token known before the login (e.g. planted by an attacker) does not work after it.
    assert client.post("/account/password", data={**form, "csrf_token": before}).status_code == 400
    assert user_named("duty").check_password(PASSWORD)
    assert client.post("/account/password", data={**form, "csrf_token": after}).status_code == 302
    assert user_named("duty").check_password(NEW_PASSWORD)
