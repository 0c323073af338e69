"""Login, logout, sessions, the login throttle and password changes, through HTTP with CSRF on."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.auth.models import User, UserSession
from tests import factories
from tests.conftest import WebClient, require_service
from tests.factories import count_rows

COOKIE = "steward_session"
LOGIN_FAILED = "Email or password is not correct."


def _actions(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _new_client(app) -> WebClient:
    app.test_client_class = WebClient
    return app.test_client()


def _cookie_value(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def _client_with_cookie(app, value: str) -> WebClient:
    """A second browser holding a copy of someone's session cookie."""
    thief = _new_client(app)
    thief.set_cookie(COOKIE, value)
    return thief


def _is_logged_in(client) -> bool:
    response = client.get("/policies")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    return False


def _hash_of(db, user_id: int) -> str:
    db.session.expire_all()
    return db.session.get(User, user_id).password_hash


# Login


def test_login_redirects_to_policies_with_an_httponly_lax_session_cookie(client, users):
    response = client.login("owner@example.test")

    assert response.status_code == 302
    assert response.headers["Location"] == "/policies"
    set_cookie = next(
        header for header in response.headers.getlist("Set-Cookie") if header.startswith(COOKIE)
    )
    attributes = {part.strip().lower() for part in set_cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert _is_logged_in(client)


def test_login_records_a_session_and_an_audit_event(client, users, db):
    client.login("owner@example.test")

    assert count_rows(db, UserSession) == 1
    assert _actions(db) == ["user.login"]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("nobody@example.test", factories.PASSWORD),
        ("owner@example.test", "not the password"),
        ("disabled@example.test", factories.PASSWORD),
    ],
    ids=["unknown email", "wrong password", "deactivated user"],
)
def test_failed_login_gives_one_message_whatever_was_wrong(client, users, db, email, password):
    factories.make_user("owner", email="disabled@example.test", enabled=False)

    response = client.login(email, password)

    assert response.status_code == 200
    assert LOGIN_FAILED in response.get_data(as_text=True)
    assert count_rows(db, UserSession) == 0
    assert "user.login" not in _actions(db)
    assert not _is_logged_in(client)


def test_email_is_matched_without_regard_to_case_or_spaces(client, users):
    response = client.login("  Owner@Example.TEST ")

    assert response.status_code == 302
    assert _is_logged_in(client)


# The login throttle


def test_sixth_failed_login_for_one_account_is_refused_even_with_the_right_password(app, users, db):
    for _ in range(5):
        attempt = _new_client(app)
        assert attempt.login("owner@example.test", "wrong password").status_code == 200

    blocked = _new_client(app)
    response = blocked.login("owner@example.test")

    assert response.status_code == 429
    assert "try again later" in response.get_data(as_text=True)
    assert count_rows(db, UserSession) == 0
    assert not _is_logged_in(blocked)


def test_throttle_for_one_account_ignores_the_case_of_the_email(client, users):
    for email in ["owner@example.test", "OWNER@example.test", "Owner@Example.Test"] * 2:
        client.login(email, "wrong password")

    assert client.login("owner@example.test").status_code == 429


def test_sixth_failed_login_from_one_address_is_refused_across_different_emails(client, users, db):
    for number in range(5):
        response = client.login(f"guess{number}@example.test", "wrong password")
        assert response.status_code == 200

    response = client.login("viewer@example.test")

    assert response.status_code == 429
    assert "try again later" in response.get_data(as_text=True)
    assert count_rows(db, UserSession) == 0


def test_successful_logins_do_not_count_towards_the_throttle(app, users):
    for _ in range(4):
        _new_client(app).login("owner@example.test", "wrong password")
    for _ in range(6):
        response = _new_client(app).login("owner@example.test")
        assert response.status_code == 302

    # Four failures so far: one more is still allowed and answered as a normal failure.
    assert _new_client(app).login("owner@example.test", "wrong").status_code == 200


def test_throttle_counts_are_shared_through_redis_between_app_instances(app, users, db):
    require_service(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set")
    from governance import create_app
    from governance.extensions import db as database

    for _ in range(5):
        _new_client(app).login("owner@example.test", "wrong password")

    # A second web process: it shares nothing with the first but the configuration.
    second = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert second.config["RATELIMIT_STORAGE_URI"] == os.environ["REDIS_URL"]
        response = _new_client(second).login("owner@example.test")

        assert response.status_code == 429
        assert "try again later" in response.get_data(as_text=True)
    finally:
        with second.app_context():
            database.session.remove()
            database.engine.dispose()


# Session renewal, logout and revocation


def test_login_starts_a_new_session_without_anything_planted_before(client, users):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = _cookie_value(client)

    client.login("owner@example.test")

    assert _cookie_value(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_logout_does_not_accept_get(login, users):
    client = login(users["owner"])

    assert client.get("/logout").status_code == 405
    assert _is_logged_in(client)


def test_logout_without_csrf_token_is_refused(login, users):
    client = login(users["owner"])

    assert client.post("/logout").status_code == 400
    assert _is_logged_in(client)


def test_logout_ends_the_session_and_records_it(login, users, db):
    client = login(users["owner"])

    response = client.submit("/logout", token_from="/account")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not _is_logged_in(client)
    assert "user.logout" in _actions(db)


def test_copied_cookie_stops_working_after_logout(app, login, users):
    client = login(users["owner"])
    copied = _cookie_value(client)
    assert _is_logged_in(_client_with_cookie(app, copied))

    client.submit("/logout", token_from="/account")

    assert not _is_logged_in(_client_with_cookie(app, copied))


def test_password_change_ends_other_sessions_but_keeps_this_one(app, login, users, db):
    owner = users["owner"]
    here = login(owner)
    elsewhere = login(owner)
    copied = _cookie_value(here)

    response = here.submit(
        "/account",
        {
            "current_password": factories.PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )

    assert response.status_code == 302
    assert _is_logged_in(here)
    assert not _is_logged_in(elsewhere)
    assert not _is_logged_in(_client_with_cookie(app, copied))
    assert "user.password_changed" in _actions(db)
    assert _new_client(app).login(owner.email, "a brand new passphrase").status_code == 302
    assert _new_client(app).login(owner.email).status_code == 200


def test_copied_cookie_stops_working_when_an_admin_deactivates_the_user(app, login, users, db):
    victim = login(users["owner"])
    copied = _cookie_value(victim)
    admin = login(users["admin"])

    response = admin.submit(
        f"/admin/users/{users['owner'].id}/deactivate", token_from="/admin/users"
    )

    assert response.status_code == 303
    assert not _is_logged_in(victim)
    assert not _is_logged_in(_client_with_cookie(app, copied))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"current_password": "not my password"},
            "The current password is not correct.",
        ),
        (
            {"new_password": "short", "confirm": "short"},
            "Use at least 15 characters for the password (it has 5).",
        ),
        (
            {"confirm": "a different passphrase"},
            "The passwords differ.",
        ),
    ],
    ids=["wrong current password", "too short", "confirmation differs"],
)
def test_bad_password_change_shows_the_reason_and_keeps_the_old_password(
    login, users, db, fields, message
):
    owner = users["owner"]
    client = login(owner)
    before = _hash_of(db, owner.id)
    data = {
        "current_password": factories.PASSWORD,
        "new_password": "a brand new passphrase",
        "confirm": "a brand new passphrase",
    } | fields

    response = client.submit("/account", data)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _hash_of(db, owner.id) == before
    assert "user.password_changed" not in _actions(db)
    assert _is_logged_in(client)


# Where a login sends you


def test_login_follows_a_same_site_next_path(client, users):
    response = client.submit(
        "/login?next=/admin/users",
        {"email": "admin@example.test", "password": factories.PASSWORD},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "https://evil.example/policies",
        "/\\evil.example",
        "javascript:alert(1)",
        "policies",
    ],
)
def test_login_ignores_a_next_target_off_this_site(client, users, target):
    response = client.post(
        "/login",
        query_string={"next": target},
        data={
            "email": "owner@example.test",
            "password": factories.PASSWORD,
            "csrf_token": client.csrf_token("/login"),
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/policies"


def test_anonymous_visitor_is_sent_to_login_and_back_afterwards(client, users):
    response = client.get("/admin/groups")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")

    response = client.submit(
        login_url, {"email": "admin@example.test", "password": factories.PASSWORD}
    )

    assert response.headers["Location"] == "/admin/groups"
