"""Who may call /api/v1: a live personal token in the Authorization header, never a cookie;
a token acts with its user's roles; each token has its own rate limit, shared through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from governance.auth.models import ApiToken, User
from governance.auth.tokens import TOKEN_PREFIX, token_hash
from governance.policies.models import Policy
from governance.timeutil import utcnow
from tests.conftest import ApiClient, require_service
from tests.factories import count_rows

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POLICY = {"title": "Access control", "category": "Security", "body": "# Purpose"}


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape: JSON {"error": {"code", "message", "details"}}, never HTML."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    assert isinstance(error["details"], list)
    if code:
        assert error["code"] == code
    return error


def token_row(db, token: str) -> ApiToken:
    db.session.expire_all()
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token)))


# 401: no usable token


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic b3duZXJAZXhhbXBsZS50ZXN0OnNlY3JldA==", "Token abc"],
    ids=["no header", "empty", "bearer without token", "blank token", "basic", "other scheme"],
)
def test_request_without_a_bearer_token_gets_401_with_a_challenge(app, users, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = ApiClient(app, None).get("policies", headers=headers)

    error = assert_json_error(response, 401, "unauthorized")
    assert "Authorization: Bearer" in error["message"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="steward"'


def test_valid_token_sent_with_another_scheme_is_refused(app, users, api_token):
    token = api_token(users["owner"])

    response = ApiClient(app, None).get("policies", headers={"Authorization": f"Token {token}"})

    assert_json_error(response, 401, "unauthorized")


def _unknown(token: str, db, users) -> str:
    return TOKEN_PREFIX + "x" * 43


def _not_ours(token: str, db, users) -> str:
    return "ghp_" + token[len(TOKEN_PREFIX) :]


def _one_character_off(token: str, db, users) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _revoked(token: str, db, users) -> str:
    token_row(db, token).revoked_at = utcnow()
    db.session.commit()
    return token


def _expired(token: str, db, users) -> str:
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.token_hash == token_hash(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    return token


def _user_disabled(token: str, db, users) -> str:
    db.session.get(User, users["owner"].id).is_enabled = False
    db.session.commit()
    return token


@pytest.mark.parametrize(
    "spoil",
    [_unknown, _not_ours, _one_character_off, _revoked, _expired, _user_disabled],
    ids=["unknown", "foreign format", "one character off", "revoked", "expired", "user disabled"],
)
def test_token_that_is_no_longer_good_gets_401_invalid_token(app, users, api_token, db, spoil):
    token = api_token(users["owner"])
    assert ApiClient(app, token).get("policies").status_code == 200

    response = ApiClient(app, spoil(token, db, users)).get("policies")

    error = assert_json_error(response, 401, "invalid_token")
    assert error["message"] == "The token is unknown, revoked or expired."
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="steward", error="invalid_token"'
    assert response.headers["Cache-Control"] == "no-store"


def test_refused_write_changes_nothing(app, users, api_token, db):
    token = _revoked(api_token(users["owner"]), db, users)

    response = ApiClient(app, token).post("policies", json=POLICY)

    assert_json_error(response, 401, "invalid_token")
    assert count_rows(db, Policy) == 0


def test_scheme_name_is_case_insensitive(app, users, api_token):
    token = api_token(users["owner"])

    response = ApiClient(app, None).get("policies", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


def test_openapi_document_needs_no_token(app):
    assert ApiClient(app, None).get("openapi.json").status_code == 200


# Roles: a token has its user's roles, never more


def test_viewer_token_cannot_create_a_policy(api_as, db):
    response = api_as("viewer").post("policies", json=POLICY)

    assert_json_error(response, 403, "forbidden")
    assert count_rows(db, Policy) == 0


def test_owner_token_creates_a_policy_owned_by_its_user(api_as, users, db):
    response = api_as("owner").post("policies", json=POLICY)

    assert response.status_code == 201, response.json
    assert db.session.get(Policy, response.json["id"]).owner_id == users["owner"].id


# Cookies are not credentials here, and so no CSRF token is needed


def test_session_cookie_alone_is_not_accepted(as_role, db):
    browser = as_role("owner")
    assert browser.get("/policies").status_code == 200  # the session itself is fine

    listed = browser.get("/api/v1/policies")
    created = browser.post("/api/v1/policies", json=POLICY)

    assert_json_error(listed, 401, "unauthorized")
    assert_json_error(created, 401, "unauthorized")
    assert count_rows(db, Policy) == 0


def test_session_cookie_with_a_bad_token_is_not_accepted_either(as_role):
    response = as_role("admin").get(
        "/api/v1/policies", headers={"Authorization": f"Bearer {TOKEN_PREFIX}nope"}
    )

    assert_json_error(response, 401, "invalid_token")


def test_post_with_a_token_and_no_csrf_token_works(app, api_as, as_role, db):
    # CSRF protection is on: the same kind of POST to a page without the token is refused...
    assert app.config.get("WTF_CSRF_ENABLED", True)
    assert as_role("owner").post("/account/tokens", data={"name": "x"}).status_code == 400

    # ...while the API, authenticated by a header a browser never adds by itself, accepts it.
    response = api_as("owner").post("policies", json=POLICY)

    assert response.status_code == 201, response.json
    assert count_rows(db, Policy) == 1


def test_api_responses_set_no_session_cookie(api_as):
    response = api_as("owner").get("policies")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


# Use is recorded


def test_last_used_is_recorded_at_most_once_a_minute(app, users, api_token, db, count_statements):
    token = api_token(users["owner"])
    api = ApiClient(app, token)
    assert token_row(db, token).last_used_at is None

    before = utcnow()
    assert api.get("policies").status_code == 200
    first_use = token_row(db, token).last_used_at
    assert first_use is not None and before <= first_use <= utcnow()

    # Within the minute another request writes nothing: no UPDATE per API call.
    with count_statements() as counter:
        assert api.get("policies").status_code == 200
    assert not [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE")]
    assert token_row(db, token).last_used_at == first_use

    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.token_hash == token_hash(token))
        .values(last_used_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    assert api.get("policies").status_code == 200
    assert token_row(db, token).last_used_at >= before


def test_refused_token_is_not_marked_used(app, users, api_token, db):
    token = _revoked(api_token(users["owner"]), db, users)

    ApiClient(app, token).get("policies")

    assert token_row(db, token).last_used_at is None


# Rate limit per token


def test_token_over_its_rate_limit_gets_429_with_retry_after(app, users, api_token, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    busy = ApiClient(app, api_token(users["owner"]))
    for _ in range(3):
        assert busy.get("policies").status_code == 200

    response = busy.get("policies")

    error = assert_json_error(response, 429, "rate_limited")
    assert "retry in" in error["message"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    # Writes are counted and refused too.
    assert_json_error(busy.post("policies", json=POLICY), 429, "rate_limited")


def test_rate_limit_of_one_token_does_not_touch_another(app, users, api_token, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    busy = ApiClient(app, api_token(users["owner"]))
    same_user_other_token = ApiClient(app, api_token(users["owner"]))
    other_user = ApiClient(app, api_token(users["viewer"]))
    for _ in range(2):
        busy.get("policies")
    assert busy.get("policies").status_code == 429

    assert same_user_other_token.get("policies").status_code == 200
    assert other_user.get("policies").status_code == 200


def test_an_unreachable_rate_limit_store_lets_requests_through(
    app, users, api_token, monkeypatch, caplog
):
    # A Redis that does not answer (nothing listens on port 1): the API keeps working.
    unreachable = MovingWindowRateLimiter(storage_from_string("redis://127.0.0.1:1/0"))
    monkeypatch.setitem(app.extensions, "api_rate_limit", unreachable)
    client = ApiClient(app, api_token(users["owner"]))

    assert client.get("policies").status_code == 200
    assert "API rate limit unavailable" in caplog.text


def test_rate_limit_is_shared_across_processes_through_redis(app, users, api_token, monkeypatch):
    require_service(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set")
    assert app.config["RATELIMIT_STORAGE_URI"] == os.environ["REDIS_URL"]
    limit = "3 per minute"
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", limit)
    token = api_token(users["owner"])

    # Another web process, sharing nothing with this one but the database and Redis, uses the
    # token up to its limit...
    statuses = _requests_in_another_process(app, token, limit, count=3)
    assert statuses == [200, 200, 200]

    # ...so here, in this process, the very first request with it is over the limit.
    response = ApiClient(app, token).get("policies")

    assert_json_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"].isdigit()
    assert ApiClient(app, api_token(users["owner"])).get("policies").status_code == 200


SECOND_PROCESS = """
import sys
from governance import create_app

app = create_app()
assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis"), app.config["RATELIMIT_STORAGE_URI"]
token = sys.stdin.read().strip()
client = app.test_client(use_cookies=False)
for _ in range(int(sys.argv[1])):
    with app.app_context():
        response = client.get("/api/v1/policies", headers={"Authorization": f"Bearer {token}"})
    print(response.status_code)
"""


def _requests_in_another_process(app, token: str, limit: str, count: int) -> list[int]:
    env = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "API_RATE_LIMIT": limit,
        "WEB_ALERT_CHECK_SECONDS": "0",
    }
    # The token goes in on stdin: command lines are visible to every local user.
    result = subprocess.run(  # noqa: S603 - our own app, fixed arguments
        [sys.executable, "-c", SECOND_PROCESS, str(count)],
        input=token,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [int(line) for line in result.stdout.split()]
