"""Personal API tokens on /account/tokens (linked from the account page): create (the token
shown once), list, revoke; only a hash of each token is stored."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.auth.models import ApiToken
from governance.timeutil import utcnow
from tests.conftest import ApiClient

TOKENS = "/account/tokens"
SHOWN_TOKEN = re.compile(r'id="new-token-value"[^>]*value="([^"]+)"')


def create(client, name: str = "CI pipeline", expires_on: str = ""):
    return client.submit(
        "/account/tokens", {"name": name, "expires_on": expires_on}, token_from=TOKENS
    )


def shown_token(html: str) -> str | None:
    match = SHOWN_TOKEN.search(html)
    return match.group(1) if match else None


def create_and_read(client, name: str = "CI pipeline", expires_on: str = "") -> str:
    """Create a token through the form and read it off the page that answers the POST."""
    response = create(client, name, expires_on)
    assert response.status_code == 201, response.get_data(as_text=True)
    token = shown_token(response.get_data(as_text=True))
    assert token
    return token


def session_contents(app, client) -> dict:
    """What the browser's session cookie carries, decoded as the app itself reads it."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(cookie.value)


def token_rows(db) -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)))


def row_html(html: str, token_id: int) -> str:
    start = html.index(f'id="api-token-row-{token_id}"')
    return html[start : html.index("</tr>", start)]


def in_days(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


# Creating: shown exactly once


def test_created_token_is_shown_once_in_the_answer_to_the_post_and_never_again(as_role, db, caplog):
    client = as_role("owner")
    caplog.set_level(logging.DEBUG)

    response = create(client, "CI pipeline")

    assert response.status_code == 201
    assert "Location" not in response.headers
    page = response.get_data(as_text=True)
    token = shown_token(page)
    assert token and token.startswith("stw_")
    assert "Copy your new token now" in page
    assert "This is the only time Steward shows it." in page

    reloaded = client.get(TOKENS).get_data(as_text=True)
    assert shown_token(reloaded) is None
    assert token not in reloaded
    assert "Copy your new token now" not in reloaded
    assert "CI pipeline" in reloaded  # still listed, by name and prefix only
    assert f"{token[:12]}…" in reloaded
    assert all(token not in record.getMessage() for record in caplog.records)


def test_new_token_never_travels_in_the_session_cookie(app, as_role):
    client = as_role("owner")

    create(client)

    # The cookie is signed, not encrypted: anything in it can be read by whoever holds it.
    carried = repr(session_contents(app, client))
    assert "stw_" not in carried
    assert "token" not in carried.replace("csrf_token", "")


def test_page_with_the_new_token_is_not_stored_by_any_cache(as_role):
    client = as_role("owner")
    response = create(client)

    assert shown_token(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"


def test_created_token_works_against_the_api_with_its_users_roles(app, as_role, users):
    token = create_and_read(as_role("owner"))

    response = ApiClient(app, token).get("policies")

    assert response.status_code == 200, response.json
    assert response.json["items"] == []


def test_only_a_hash_of_the_token_is_stored(as_role, users, db):
    token = create_and_read(as_role("owner"), "Nightly export")

    [row] = token_rows(db)
    assert row.user_id == users["owner"].id
    assert row.name == "Nightly export"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:12]
    # Nowhere in the table, and not in the audit trail either.
    with db.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT * FROM api_tokens")).one()
        assert all(token not in str(value) for value in stored)
        events = connection.execute(sa.text("SELECT * FROM audit_events")).all()
    assert events
    assert all(token not in str(value) for event in events for value in event)


def test_creating_a_token_is_audited(as_role, users, db):
    token = create_and_read(as_role("approver"), "Reporting")

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert event.actor_id == users["approver"].id
    assert "Reporting" in event.summary
    assert token[:12] in event.summary


@pytest.mark.parametrize("role", ["admin", "owner", "approver", "viewer"])
def test_every_role_may_create_a_token(app, as_role, role):
    token = create_and_read(as_role(role), f"{role} script")

    assert ApiClient(app, token).get("policies").status_code == 200


def test_expiry_date_lets_the_token_work_through_that_day(as_role, db):
    create_and_read(as_role("owner"), expires_on=in_days(30))

    [row] = token_rows(db)
    day_after = utcnow().date() + timedelta(days=31)
    assert row.expires_at == datetime.combine(day_after, datetime.min.time(), UTC)


# Creating: refused with a message on the field, nothing stored


@pytest.mark.parametrize(
    ("name", "expires_on", "message"),
    [
        ("", "", "Give the token a name, e.g. “CI pipeline”."),
        ("   ", "", "Give the token a name, e.g. “CI pipeline”."),
        ("x" * 81, "", "The name is at most 80 characters."),
        ("two\nlines", "", "The name is one line of ordinary characters."),
        ("CI", in_days(-1), "The expiry date must be in the future."),
        ("CI", in_days(0), "The expiry date must be in the future."),
        ("CI", "31/12/2030", "Enter the date as YYYY-MM-DD, e.g. 2030-12-31."),
        ("CI", "2999-12-31", "The expiry date is at most ten years ahead"),
        ("CI", "9999-12-31", "Dates must be between 1900-01-01 and 2999-12-31."),
    ],
)
def test_bad_name_or_expiry_is_refused_with_a_message(as_role, db, name, expires_on, message):
    client = as_role("owner")

    response = create(client, name, expires_on)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert 'class="error"' in html
    assert shown_token(html) is None
    assert token_rows(db) == []


def test_name_and_expiry_problems_are_shown_together(as_role, db):
    response = create(as_role("owner"), "", in_days(-3))

    html = response.get_data(as_text=True)
    assert "Give the token a name" in html
    assert "The expiry date must be in the future." in html
    assert token_rows(db) == []


def test_creating_a_token_requires_the_csrf_token(as_role, db):
    client = as_role("owner")

    response = client.post("/account/tokens", data={"name": "CI", "expires_on": ""})

    assert response.status_code == 400
    assert token_rows(db) == []


def test_account_page_links_to_the_tokens_and_counts_the_active_ones(as_role, users, db):
    client = as_role("owner")
    page = client.get("/account").get_data(as_text=True)
    assert 'id="api-tokens"' in page
    assert f'href="{TOKENS}"' in page
    assert "You have no active tokens." in page

    create_and_read(client, "One")
    create_and_read(client, "Two")
    [first, _] = token_rows(db)
    client.submit(f"/account/tokens/{first.id}/revoke")

    assert "You have 1 active token." in client.get("/account").get_data(as_text=True)


# Listing


def test_account_page_lists_each_token_with_its_state(as_role, users, db, app):
    client = as_role("owner")
    used = create_and_read(client, "Used one")
    create_and_read(client, "Expired one")
    create_and_read(client, "Revoked one")
    create_and_read(client, "Dated one", expires_on=in_days(10))
    assert ApiClient(app, used).get("policies").status_code == 200
    rows = {row.name: row for row in token_rows(db)}
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == rows["Expired one"].id)
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.id == rows["Revoked one"].id).values(revoked_at=utcnow())
    )
    db.session.commit()

    html = client.get(TOKENS).get_data(as_text=True)

    used_row = row_html(html, rows["Used one"].id)
    assert "Used one" in used_row
    assert f"<code>{used[:12]}…</code>" in used_row
    assert "token-active" in used_row and "Active" in used_row
    assert "Never" in used_row  # no expiry
    assert used_row.count("<time") == 2  # created, last used
    assert "Revoke…" in used_row
    expired_row = row_html(html, rows["Expired one"].id)
    assert "token-expired" in expired_row and "Revoke…" not in expired_row
    revoked_row = row_html(html, rows["Revoked one"].id)
    assert "token-revoked" in revoked_row and "Revoke…" not in revoked_row
    dated_row = row_html(html, rows["Dated one"].id)
    last_day = utcnow().date() + timedelta(days=10)
    assert f"end of {last_day:%d %b %Y}" in dated_row  # the day chosen, not midnight after it
    assert f'datetime="{last_day + timedelta(days=1)}T00:00:00+00:00"' in dated_row
    # Newest first.
    assert html.index("Dated one") < html.index("Used one")


def test_account_page_lists_only_the_users_own_tokens(as_role, users, api_token):
    api_token(users["other_owner"])

    html = as_role("owner").get(TOKENS).get_data(as_text=True)

    assert "You have no API tokens yet." in html
    assert "api-token-row-" not in html


# Revoking


def test_revoking_asks_first_then_the_token_gets_401(app, as_role, users, db):
    client = as_role("owner")
    token = create_and_read(client, "Deploy bot")
    api = ApiClient(app, token)
    assert api.get("policies").status_code == 200
    [row] = token_rows(db)

    confirm = client.get(f"/account/tokens/{row.id}/revoke")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Revoke API token “Deploy bot”?" in page
    assert "401 Unauthorized" in page
    assert token_rows(db)[0].revoked_at is None  # asking changed nothing

    response = client.submit(f"/account/tokens/{row.id}/revoke")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(TOKENS)
    assert "API token “Deploy bot” revoked" in client.get(TOKENS).get_data(as_text=True)
    assert token_rows(db)[0].revoked_at is not None
    refused = api.get("policies")
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "invalid_token"
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "api_token.revoked")
    )


def test_revoking_requires_the_csrf_token(app, as_role, db):
    client = as_role("owner")
    token = create_and_read(client)
    [row] = token_rows(db)

    response = client.post(f"/account/tokens/{row.id}/revoke")

    assert response.status_code == 400
    assert token_rows(db)[0].revoked_at is None
    assert ApiClient(app, token).get("policies").status_code == 200


def test_someone_elses_token_is_not_found(app, as_role, users, api_token, db):
    others = api_token(users["other_owner"])
    [row] = token_rows(db)
    client = as_role("owner")

    assert client.get(f"/account/tokens/{row.id}/revoke").status_code == 404
    response = client.submit(f"/account/tokens/{row.id}/revoke", token_from=TOKENS)

    assert response.status_code == 404
    assert token_rows(db)[0].revoked_at is None
    assert ApiClient(app, others).get("policies").status_code == 200


def test_unknown_token_id_is_not_found(as_role, users):
    client = as_role("owner")

    assert client.get("/account/tokens/999/revoke").status_code == 404
    assert client.submit("/account/tokens/999/revoke", token_from=TOKENS).status_code == 404


def test_revoked_token_page_says_so_without_a_button(as_role, db):
    client = as_role("owner")
    create_and_read(client)
    [row] = token_rows(db)
    client.submit(f"/account/tokens/{row.id}/revoke")

    page = client.get(f"/account/tokens/{row.id}/revoke").get_data(as_text=True)

    assert "This token is already revoked." in page
    assert "Revoke token</button>" not in page


# Logged out


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/account"),
        ("GET", "/account/tokens"),
        ("POST", "/account/tokens"),
        ("GET", "/account/tokens/1/revoke"),
        ("POST", "/account/tokens/1/revoke"),
    ],
)
def test_anonymous_visitor_is_sent_to_log_in(client, users, db, method, url):
    if method == "GET":
        response = client.get(url)
    else:
        # A CSRF token from the login page, so it is the login check that answers.
        response = client.submit(url, {"name": "CI"}, token_from="/login")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert token_rows(db) == []


def test_token_pages_carry_no_inline_script_or_style(as_role, db):
    client = as_role("owner")
    create(client)
    [row] = token_rows(db)

    for url in (TOKENS, f"/account/tokens/{row.id}/revoke"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        assert re.search(r"\s(style|on[a-z]+)=", html) is None
    assert 'maxlength="80"' in client.get(TOKENS).get_data(as_text=True)


def test_a_user_with_fifty_active_tokens_must_revoke_one_first(as_role, users, api_token, db):
    for _ in range(50):
        api_token(users["owner"])
    client = as_role("owner")

    response = create(client, "One too many")

    assert "You have 50 active tokens; revoke one first." in response.get_data(as_text=True)
    assert len(token_rows(db)) == 50
    first = token_rows(db)[0]
    client.submit(f"/account/tokens/{first.id}/revoke")
    assert create(client, "Now it fits").status_code == 201
