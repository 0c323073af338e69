"""Fixtures: an app on a fresh database built by the Alembic migrations, clients logged in
through the real login form, and a statement counter.

The database is the default SQLite file unless DATABASE_URL is set (CI's second pass uses
PostgreSQL and Redis). STEWARD_REQUIRE_SERVICES=1 turns "service missing, skipped" into a failure.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

# `make test` runs the suite in two worker processes (pytest -n 2); each is named gw0, gw1, ...
# and gets its own instance directory (SQLite file, Huey file), PostgreSQL database, Redis
# database and Huey name, so the workers never see each other's rows, tasks or counters.
# Subprocesses (consumers, `make run`) inherit this environment, so they follow their worker.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_index() -> int:
    return int(_WORKER.removeprefix("gw")) if _WORKER else 0


def _per_worker_database_url(url: str) -> str:
    """DATABASE_URL with the worker's suffix: .../steward_ci becomes .../steward_ci_gw1."""
    if not _WORKER or url.startswith("sqlite"):
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{_WORKER}"))


def _per_worker_redis_url(url: str) -> str:
    """REDIS_URL with the database number moved up by the worker's index: /7 is gw0's, /8 gw1's."""
    if not _WORKER:
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + _worker_index()
    return urlunsplit(parts._replace(path=f"/{database}"))


# The environment must be settled before governance is imported: the Huey transport is
# built at import time from it.
_TEST_DIR = Path(
    tempfile.mkdtemp(prefix=f"steward-tests-{_WORKER}-" if _WORKER else "steward-tests-")
)
os.environ["STEWARD_INSTANCE_DIR"] = str(_TEST_DIR)
os.environ["SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["HUEY_NAME"] = f"steward-test-{_WORKER}" if _WORKER else "steward-test"
if os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = _per_worker_database_url(os.environ["DATABASE_URL"])
if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _per_worker_redis_url(os.environ["REDIS_URL"])
os.environ.pop("STEWARD_ENV", None)
os.environ.pop("STEWARD_SERVER_TIMING", None)  # tests turn it on where they need it

import sqlalchemy as sa  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from governance import create_app  # noqa: E402
from governance.api.auth import reset_rate_limits  # noqa: E402
from governance.auth.throttle import login_throttle  # noqa: E402
from governance.extensions import db as _db  # noqa: E402
from governance.extensions import huey  # noqa: E402
from tests import factories  # noqa: E402
from tests.database import audit_triggers_off  # noqa: E402

REQUIRE_SERVICES = os.environ.get("STEWARD_REQUIRE_SERVICES") == "1"
CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def require_service(available: bool, reason: str) -> None:
    """Skip when a service is missing, unless CI demands every service (then fail)."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (STEWARD_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{_TEST_DIR / 'test.db'}"
    from governance.config import database_url

    return database_url()


def _create_worker_database(url: str) -> None:
    """A worker's PostgreSQL database (DATABASE_URL's name plus _gw0, ...) is made on first use."""
    if not _WORKER or not url.startswith("postgresql"):
        return
    target = sa.engine.make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        server.dispose()


def _reset_schema(engine: sa.Engine) -> None:
    """Start every run from an empty database, so the migrations build all of it."""
    if engine.dialect.name == "postgresql":
        name = engine.url.database or ""
        if "test" not in name and "ci" not in name:
            raise RuntimeError(
                f"Refusing to wipe database {name!r}: point DATABASE_URL at a test database."
            )
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    _create_worker_database(_database_url())
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": _database_url(),
            # Alerts are evaluated when a test asks (monitor tests), not after any request.
            "WEB_ALERT_CHECK_SECONDS": 0,
        }
    )
    with app.app_context():
        _reset_schema(_db.engine)
        upgrade()
        _db.session.remove()
    yield app


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Each test that uses the app leaves empty tables and no login-failure counts behind.

    Tests that never ask for the app (tests/unit) do not build it.
    """
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as connection, audit_triggers_off(connection):
            if connection.dialect.name == "postgresql":
                # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE rebuilds every
                # table's files (about 30 of them), ten times slower on each of ~1,500 tests.
                # Then every sequence (each is a table's id) starts again at 1, as TRUNCATE's
                # RESTART IDENTITY would.
                deletes = (f'DELETE FROM "{table.name}"' for table in tables)  # noqa: S608
                connection.exec_driver_sql("; ".join(deletes))
                connection.exec_driver_sql(
                    "SELECT setval(oid, 1, false) FROM pg_class"
                    " WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace"
                )
            else:
                for table in tables:
                    connection.execute(table.delete())
        login_throttle.reset()
        reset_rate_limits()
        huey.flush()


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _db.session.remove()


class WebClient(FlaskClient):
    """A test client that posts forms like a browser: with the page's CSRF token."""

    def open(self, *args, **kwargs):
        # Each request gets its own app context (so its own `g` and database session), as in
        # production, even while the test itself holds one open through the `db` fixture.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self, page: str = "/account") -> str:
        html = self.get(page).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1) or match.group(2)

    def submit(
        self, url: str, data: dict | None = None, *, token_from: str | None = None, **kwargs
    ):
        """POST `data` with a valid CSRF token taken from `token_from` (default: the same URL)."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from or url))
        return self.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = factories.PASSWORD):
        return self.submit("/login", {"email": email, "password": password})


@pytest.fixture
def loopback_webhooks(app):
    """Webhooks may call 127.0.0.1 (a receiver the test runs) for this test only."""
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    yield
    app.config["WEBHOOK_ALLOWLIST"] = []


@pytest.fixture
def client(app) -> WebClient:
    app.test_client_class = WebClient
    return app.test_client()


@pytest.fixture
def login(app):
    """login(user) -> a fresh client logged in as that user through the real login form."""

    def _login(user) -> WebClient:
        app.test_client_class = WebClient
        client = app.test_client()
        response = client.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _login


@pytest.fixture
def users(db):
    """One user per role, plus a second owner, in groups Legal and Security."""
    legal = factories.make_group("Legal")
    security = factories.make_group("Security")
    return {
        "admin": factories.make_user("admin", email="admin@example.test"),
        "owner": factories.make_user("owner", email="owner@example.test"),
        "other_owner": factories.make_user("owner", email="owner2@example.test"),
        "approver": factories.make_user("approver", email="approver@example.test", groups=[legal]),
        "security": factories.make_user(
            "approver", email="security@example.test", groups=[security]
        ),
        "viewer": factories.make_user("viewer", email="viewer@example.test"),
    }


@pytest.fixture
def as_role(users, login):
    """as_role('owner') -> a client logged in as that role's user."""
    return lambda role: login(users[role])


@pytest.fixture
def refused_smtp(app, monkeypatch):
    """A mail server address where nothing listens: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)


class ApiClient:
    """Calls /api/v1 with a bearer token, as a script would: JSON in, JSON out, no cookies."""

    def __init__(self, app, token: str | None) -> None:
        self.client = app.test_client(use_cookies=False)
        self.app = app
        self.token = token

    def request(self, method: str, path: str, json=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        url = path if path.startswith("/") else f"/api/v1/{path}"
        with self.app.app_context():
            return self.client.open(url, method=method, json=json, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api_token(users):
    """api_token(user) -> a fresh personal API token (the plain text) for that user."""
    from datetime import date

    from governance.auth import tokens

    def _token(user, **kwargs) -> str:
        kwargs.setdefault("expires_on", None)
        return tokens.create_token(user, name="test", today=date.today(), **kwargs).token

    return _token


@pytest.fixture
def api_as(app, users, api_token):
    """api_as('owner') -> an API client with a token of that role's user; api_as(None): none."""

    def _client(role: str | None) -> ApiClient:
        return ApiClient(app, api_token(users[role]) if role else None)

    return _client


@pytest.fixture
def count_statements(app):
    """with count_statements() as counter: ... ; counter.count is the number of SQL statements."""

    @contextmanager
    def _count():
        class Counter:
            def __init__(self) -> None:
                self.count = 0
                self.statements: list[str] = []

        counter = Counter()

        def before_execute(conn, cursor, statement, parameters, context, executemany):
            counter.count += 1
            counter.statements.append(statement)

        with app.app_context():
            engine = _db.engine
        sa.event.listen(engine, "before_cursor_execute", before_execute)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", before_execute)

    return _count
