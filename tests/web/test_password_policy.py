"""Every place a password is set applies one policy: the admin's new-user form, the account
page and `flask create-user`. A refused password leaves the database as it was."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from governance.auth.models import User
from tests import factories

WEAK = [
    ("aaaaaaaaaaaaaaaa", "too predictable"),
    ("password12345678", "lists of common or breached passwords"),
    ("123456789012345", "too predictable"),
]


def _user(db, email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


@pytest.mark.parametrize(("password", "message"), [*WEAK, ("new.person@example.org", "email")])
def test_admin_cannot_create_a_user_with_a_weak_password(as_role, users, db, password, message):
    response = as_role("admin").submit(
        "/admin/users/new",
        {
            "email": "new.person@example.org",
            "name": "New Person",
            "password": password,
            "roles": ["viewer"],
        },
    )

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _user(db, "new.person@example.org") is None


@pytest.mark.parametrize(("password", "message"), [*WEAK, ("owner@example.test", "email")])
def test_account_page_refuses_a_weak_new_password_and_keeps_the_old_one(
    login, users, db, password, message
):
    owner = users["owner"]
    client = login(owner)
    before = _user(db, owner.email).password_hash

    response = client.submit(
        "/account",
        {"current_password": factories.PASSWORD, "new_password": password, "confirm": password},
    )

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _user(db, owner.email).password_hash == before


def test_account_page_refuses_a_password_made_of_the_users_name(login, db):
    user = factories.make_user("viewer", email="olivia.brandt@example.test", name="Olivia Brandt")
    client = login(user)

    response = client.submit(
        "/account",
        {
            "current_password": factories.PASSWORD,
            "new_password": "olivia brandt rocks",
            "confirm": "olivia brandt rocks",
        },
    )

    assert "must not contain your name or email address" in response.get_data(as_text=True)


@pytest.mark.parametrize(("password", "message"), [*WEAK, ("boss@example.org", "email")])
def test_create_user_command_refuses_a_weak_password(app, db, password, message):
    result = app.test_cli_runner().invoke(
        args=["create-user", "boss@example.org", "--role", "admin", "--password", password]
    )

    assert result.exit_code == 1
    assert message in result.output
    assert _user(db, "boss@example.org") is None


def test_a_password_typed_in_another_unicode_form_still_logs_in(as_role, client, users, db):
    # Decomposed "e" + combining accent on one keyboard, precomposed "é" on another.
    decomposed = "cafe\u0301 au lait le matin"
    as_role("admin").submit(
        "/admin/users/new",
        {
            "email": "new.person@example.org",
            "name": "New Person",
            "password": decomposed,
            "roles": ["viewer"],
        },
    )

    response = client.login("new.person@example.org", "café au lait le matin")

    assert response.status_code == 302


def test_existing_users_keep_their_hashes_and_can_still_log_in(client, db):
    # A password set before the policy (10 characters, not NFKC-normalised) still works.
    user = factories.make_user("viewer", email="old@example.test")
    user.password_hash = generate_password_hash("ｏｌｄ pass10", method="scrypt")
    db.session.commit()

    response = client.login("old@example.test", "ｏｌｄ pass10")

    assert response.status_code == 302


def test_the_forms_state_the_configured_minimum(as_role, users, app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 18)
    admin = as_role("admin")

    assert "At least 18 characters" in admin.get("/account").get_data(as_text=True)
    assert "At least 18 characters" in admin.get("/admin/users/new").get_data(as_text=True)
