"""Who is calling: a bearer token, never a cookie, and how often (a limit per token).

API requests are exempt from CSRF for exactly this reason: they are authenticated by a header
a browser never adds on its own, and the session cookie is ignored.
"""

from __future__ import annotations

import functools
import math
import time

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from governance.api.errors import ApiError
from governance.auth import tokens
from governance.auth.models import User

PUBLIC_ENDPOINTS = {"api.openapi_json"}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="steward"'}
# RFC 6750: a token was sent but is no good, so a client can tell "log in" from "get a new one".
INVALID_TOKEN_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="steward", error="invalid_token"'}


def current_api_user() -> User:
    return g.api_user


def require_roles(*roles: str) -> User:
    """The caller, or 403 unless they hold one of `roles`."""
    user = current_api_user()
    if not user.has_role(*roles):
        raise ApiError(403, f"This needs the role {' or '.join(roles)}.")
    return user


def authenticate_request() -> None:
    """Before every API view: a valid bearer token, within its rate limit."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "Send a personal API token: Authorization: Bearer <token>.", headers=CHALLENGE
        )
    found = tokens.authenticate(token.strip())
    if found is None:
        raise ApiError(
            401,
            "The token is unknown, revoked or expired.",
            code="invalid_token",
            headers=INVALID_TOKEN_CHALLENGE,
        )
    g.api_user, g.api_token = found
    _check_rate(g.api_token.id)


@functools.cache
def _limit(text: str) -> RateLimitItem:
    return parse(text)


def _check_rate(token_id: int) -> None:
    limiter = current_app.extensions["api_rate_limit"]
    limit = _limit(current_app.config["API_RATE_LIMIT"])
    try:
        if limiter.hit(limit, "api-token", str(token_id)):
            return
    except Exception:  # the counter store (Redis) blinked: a missed count beats a refused call
        current_app.logger.warning("API rate limit unavailable; request allowed", exc_info=True)
        return
    reset_at, _ = limiter.get_window_stats(limit, "api-token", str(token_id))
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise ApiError(
        429,
        f"Too many requests for this token (limit {limit}); retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


def init_app(app: Flask) -> None:
    """The per-token limit lives in Redis when configured, so every process shares it."""
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["api_rate_limit"] = MovingWindowRateLimiter(storage)


def reset_rate_limits() -> None:
    """Forget every count (used between tests)."""
    current_app.extensions["api_rate_limit"].storage.reset()
