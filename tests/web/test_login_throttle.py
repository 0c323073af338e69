"""Without Redis the login throttle keeps its counts in the database, so every web process
counts the same failures (the default deployment runs several workers)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance import create_app
from governance.auth.models import LoginFailure
from governance.auth.throttle import login_throttle
from governance.extensions import db as database
from governance.maintenance import prune_old_login_failures
from governance.timeutil import utcnow
from tests.conftest import WebClient, require_service


def _workers(app, store: str):
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "LOGIN_THROTTLE_STORE": store,
        "WEB_ALERT_CHECK_SECONDS": 0,
    }
    apps = [create_app(settings), create_app(settings)]
    yield apps
    for each in apps:
        with each.app_context():
            database.session.remove()
            database.engine.dispose()


@pytest.fixture
def workers(app):
    """Two web processes on the same database, with the default (database) throttle store."""
    yield from _workers(app, "database")


@pytest.fixture(params=["database", "redis"])
def any_workers(app, request):
    """The same two processes with either store (Redis only where REDIS_URL is set)."""
    if request.param == "redis":
        require_service(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set")
    yield from _workers(app, request.param)


def _client(app) -> WebClient:
    app.test_client_class = WebClient
    return app.test_client()


def test_the_default_store_is_the_database_when_there_is_no_redis(monkeypatch):
    from governance.config import Config

    monkeypatch.delenv("REDIS_URL", raising=False)

    assert Config().LOGIN_THROTTLE_STORE == "database"


def test_two_workers_share_the_failure_count_for_an_account(any_workers, users, db):
    first, second = any_workers
    for number in range(5):
        worker = (first, second)[number % 2]
        assert _client(worker).login("owner@example.test", "wrong password").status_code == 200

    for worker in any_workers:
        response = _client(worker).login("owner@example.test")
        assert response.status_code == 429
        assert "try again later" in response.get_data(as_text=True)


def test_two_workers_share_the_failure_count_for_an_address(workers, users, db):
    first, second = workers
    for number in range(5):
        _client((first, second)[number % 2]).login(f"guess{number}@example.test", "wrong")

    assert _client(second).login("viewer@example.test").status_code == 429


def test_attempts_in_flight_at_once_cannot_pass_the_limit_together(any_workers, users, db):
    # Four failures so far; two guesses arrive at the same moment on the two workers. The
    # place is taken before the password is checked, so only one of them is let through.
    first, second = any_workers
    for _ in range(4):
        _client(first).login("owner@example.test", "wrong password")

    with first.app_context():
        assert login_throttle.take_attempt("owner@example.test", "10.0.0.1") is True
    with second.app_context():
        assert login_throttle.take_attempt("owner@example.test", "10.0.0.2") is False


def test_many_people_may_log_in_at_once_from_one_address(any_workers, users, db):
    # An office behind one address: ten logins in flight at the same moment all go ahead.
    first, second = any_workers
    for number in range(10):
        with (first, second)[number % 2].app_context():
            assert login_throttle.take_attempt(f"person{number}@example.test", "10.0.0.9")


def test_a_successful_login_gives_its_place_back(any_workers, users, db):
    first, second = any_workers
    for _ in range(4):
        _client(first).login("owner@example.test", "wrong password")

    assert _client(second).login("owner@example.test").status_code == 302
    # Still one place left after the success, and only one.
    assert _client(first).login("owner@example.test", "wrong password").status_code == 200
    assert _client(second).login("owner@example.test", "wrong password").status_code == 429


def test_a_count_whose_window_has_passed_starts_again(workers, users, db):
    first, _ = workers
    for _ in range(5):
        _client(first).login("owner@example.test", "wrong password")
    db.session.execute(
        sa.update(LoginFailure).values(window_started_at=utcnow() - timedelta(minutes=2))
    )
    db.session.commit()

    assert _client(first).login("owner@example.test", "wrong password").status_code == 200
    db.session.expire_all()
    counts = {row.key: row.failures for row in db.session.scalars(sa.select(LoginFailure))}
    assert counts["account:owner@example.test"] == 1


def test_housekeeping_forgets_counts_whose_window_has_passed(workers, users, db):
    first, _ = workers
    _client(first).login("owner@example.test", "wrong password")
    _client(first).login("viewer@example.test", "wrong password")
    db.session.execute(
        sa.update(LoginFailure)
        .where(LoginFailure.key == "account:owner@example.test")
        .values(window_started_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()

    assert prune_old_login_failures() == 1
    keys = set(db.session.scalars(sa.select(LoginFailure.key)))
    assert keys == {"account:viewer@example.test", "address:127.0.0.1"}
