"""A database that cannot be reached answers 503 with a clear message, never a stack trace.

The app is real; only its database URL points where nothing answers (a PostgreSQL port with no
server, a SQLite file that cannot be opened).
"""

from __future__ import annotations

import logging

import psycopg
import pytest
import sqlalchemy as sa

from governance import create_app
from governance.dbutil import is_database_unreachable

MESSAGE = "Steward cannot reach its database right now; try again in a minute."
UNREACHABLE_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/steward",  # nothing listens on 1
    "sqlite": "sqlite:////nonexistent-steward-dir/never/steward.db",  # cannot be opened
}


@pytest.fixture(params=sorted(UNREACHABLE_URLS))
def offline_app(request):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": UNREACHABLE_URLS[request.param],
            "WEB_ALERT_CHECK_SECONDS": 0,
        }
    )


def _signed_in_client(offline_app):
    """A browser whose session names a user, so the next page must load them from the database."""
    client = offline_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
        session["sid"] = "a-session-token"
    return client


def test_a_page_answers_503_with_a_clear_message_when_the_database_is_unreachable(
    offline_app, caplog
):
    client = _signed_in_client(offline_app)

    with caplog.at_level(logging.WARNING):
        response = client.get("/policies")

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.mimetype == "text/html"
    assert MESSAGE in body
    assert "Traceback" not in body and "OperationalError" not in body
    assert "127.0.0.1" not in body and "sqlite" not in body.lower()
    outage_lines = [r for r in caplog.records if "Database unreachable" in r.getMessage()]
    assert len(outage_lines) == 1
    assert outage_lines[0].exc_info is None  # one line in the log, not a traceback per request


def test_an_htmx_request_gets_the_503_fragment(offline_app):
    client = _signed_in_client(offline_app)

    response = client.get("/policies", headers={"HX-Request": "true"})

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert MESSAGE in body
    assert "<html" not in body


def test_the_api_answers_503_in_its_json_error_shape(offline_app):
    response = offline_app.test_client().get(
        "/api/v1/policies", headers={"Authorization": "Bearer stw_any-token"}
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.get_json() == {
        "error": {"code": "database_unavailable", "message": MESSAGE, "details": []}
    }


def test_health_answers_503_naming_the_database(offline_app):
    client = offline_app.test_client()

    health = client.get("/health")
    queues = client.get("/health/queues")

    assert health.status_code == 503
    assert "database" in health.get_json()["failed"]
    assert queues.status_code == 503
    assert queues.get_json() == {"status": "unavailable", "failed": ["database"]}


def test_a_query_error_is_not_mistaken_for_an_outage():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    from governance.extensions import db

    with app.app_context(), pytest.raises(sa.exc.DBAPIError) as raised:
        db.session.execute(sa.text("SELECT * FROM no_such_table"))

    assert not is_database_unreachable(raised.value)


def test_the_app_reconnects_after_the_database_dropped_its_connections(app, db, client):
    """What a PostgreSQL restart does to the pool: every open connection is cut."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL matter (DATABASE_URL=postgresql...)")
    assert client.get("/health").status_code == 200  # the pool now holds a connection
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert cut >= 1

    response = client.get("/health")

    assert response.status_code == 200  # pool_pre_ping found the dead connection, took a new one
