"""Login sessions end on the server after SESSION_IDLE_MINUTES without a request and
SESSION_MAX_HOURS after the login, whatever the cookie says. Time moves by rewriting the
session row's timestamps, never by sleeping."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.auth.models import UserSession
from governance.timeutil import utcnow

EXPIRED = "Your session expired, sign in again."


def _age_session(db, **ago: timedelta) -> None:
    """Move the (only) session's login and last request back by the given amounts."""
    now = utcnow()
    db.session.execute(sa.update(UserSession).values({name: now - d for name, d in ago.items()}))
    db.session.commit()


def _session(db) -> UserSession:
    db.session.expire_all()
    return db.session.scalars(sa.select(UserSession)).one()


def test_a_session_idle_longer_than_the_timeout_is_ended_and_says_so(login, users, db):
    client = login(users["owner"])
    _age_session(db, last_seen_at=timedelta(minutes=31))

    response = client.get("/policies?status=draft")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fpolicies%3Fstatus%3Ddraft"
    assert EXPIRED in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _session(db).revoked_at is not None
    assert "user.session_expired" in db.session.scalars(sa.select(AuditEvent.action)).all()
    # Ended for good: a fresh request is no longer let in either.
    assert client.get("/policies").status_code == 302


def test_a_session_used_within_the_idle_timeout_stays_and_is_marked_seen(login, users, db):
    client = login(users["owner"])
    _age_session(db, last_seen_at=timedelta(minutes=29))

    assert client.get("/policies").status_code == 200
    assert utcnow() - _session(db).last_seen_at < timedelta(minutes=1)
    assert _session(db).revoked_at is None


def test_a_busy_session_still_ends_at_its_absolute_lifetime(login, users, db):
    client = login(users["owner"])
    _age_session(db, created_at=timedelta(hours=12, minutes=1), last_seen_at=timedelta(0))

    response = client.get("/policies")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert EXPIRED in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _session(db).revoked_at is not None


def test_both_limits_are_settings(app, login, users, db, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 240)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 2)
    client = login(users["owner"])

    _age_session(db, created_at=timedelta(hours=1), last_seen_at=timedelta(hours=1))
    assert client.get("/policies").status_code == 200

    _age_session(db, created_at=timedelta(hours=2, minutes=1), last_seen_at=timedelta(0))
    assert client.get("/policies").status_code == 302


def test_an_htmx_request_of_an_expired_session_is_sent_to_the_login_page(login, users, db):
    client = login(users["owner"])
    _age_session(db, last_seen_at=timedelta(hours=1))

    response = client.get(
        "/nav/counts",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/policies?page=2"},
    )

    assert response.status_code == 401
    # Back to the page the fragment was part of, not to the fragment.
    assert response.headers["HX-Redirect"] == "/login?next=%2Fpolicies%3Fpage%3D2"
    assert EXPIRED in client.get("/login").get_data(as_text=True)


def test_a_session_that_was_never_logged_in_gets_the_usual_message(client, users):
    response = client.get("/policies")

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Please log in to see that page." in page
    assert EXPIRED not in page


def test_api_tokens_do_not_depend_on_login_sessions(api_as, login, users, db):
    login(users["owner"])
    _age_session(db, created_at=timedelta(days=3), last_seen_at=timedelta(days=3))

    assert api_as("owner").get("policies").status_code == 200


def test_the_badge_poll_of_an_open_tab_does_not_keep_a_session_alive(login, users, db):
    client = login(users["owner"])
    _age_session(db, last_seen_at=timedelta(minutes=20))

    polled = client.get("/nav/counts", headers={"HX-Request": "true"})

    assert polled.status_code == 200
    assert utcnow() - _session(db).last_seen_at >= timedelta(minutes=20)
