"""The login throttle: failed logins per account and per address, shared by every web process.

Counts live in Redis when REDIS_URL is set (a moving window), else in the database's
login_failures table (a fixed window of the limit's length). Only failures are counted, so a
successful login costs nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite

from governance.auth.models import LoginFailure
from governance.extensions import db
from governance.timeutil import utcnow


class RedisCounts:
    def __init__(self, storage_uri: str, limit: RateLimitItem) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.limit = limit

    def is_blocked(self, keys: list[str]) -> bool:
        return any(not self.limiter.test(self.limit, "login", key) for key in keys)

    def record_failure(self, keys: list[str]) -> None:
        for key in keys:
            self.limiter.hit(self.limit, "login", key)

    def reset(self) -> None:
        self.limiter.storage.reset()


class DatabaseCounts:
    """One row per key. An upsert adds each failure in one statement, so two processes that
    fail at once both count, on SQLite and PostgreSQL alike."""

    def __init__(self, limit: RateLimitItem) -> None:
        self.limit = limit
        self.window = timedelta(seconds=limit.get_expiry())

    def is_blocked(self, keys: list[str]) -> bool:
        since = utcnow() - self.window
        blocked = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginFailure)
            .where(
                LoginFailure.key.in_(keys),
                LoginFailure.window_started_at > since,
                LoginFailure.failures >= self.limit.amount,
            )
        )
        return bool(blocked)

    def record_failure(self, keys: list[str]) -> None:
        now = utcnow()
        for key in keys:
            db.session.execute(self._count_one(key, now))
        db.session.commit()

    def _count_one(self, key: str, now: datetime):
        insert = (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert
        statement = insert(LoginFailure).values(key=key, failures=1, window_started_at=now)
        started = statement.excluded.window_started_at
        # Inside the window: one more. A window that has passed starts again at this failure.
        fresh = LoginFailure.window_started_at > now - self.window
        return statement.on_conflict_do_update(
            index_elements=[LoginFailure.key],
            set_={
                "failures": sa.case((fresh, LoginFailure.failures + 1), else_=1),
                "window_started_at": sa.case(
                    (fresh, LoginFailure.window_started_at), else_=started
                ),
            },
        )

    def reset(self) -> None:
        db.session.execute(sa.delete(LoginFailure))
        db.session.commit()


def prune_login_failures(now: datetime, window: timedelta) -> int:
    """Delete counts whose window has passed (housekeeping); returns how many went."""
    result = db.session.execute(
        sa.delete(LoginFailure).where(LoginFailure.window_started_at <= now - window)
    )
    db.session.commit()
    return result.rowcount or 0


class LoginThrottle:
    """Each app keeps its own store in app.extensions, like any Flask extension's state."""

    def init_app(self, app: Flask) -> None:
        limit = parse(app.config["LOGIN_FAILURE_LIMIT"])
        if app.config["LOGIN_THROTTLE_STORE"] == "redis":
            counts = RedisCounts(app.config["RATELIMIT_STORAGE_URI"], limit)
        else:
            counts = DatabaseCounts(limit)
        app.extensions["login_throttle"] = counts

    def _counts(self) -> RedisCounts | DatabaseCounts:
        return current_app.extensions["login_throttle"]

    def _keys(self, email: str, address: str) -> list[str]:
        return [f"account:{email.strip().lower()}"[:300], f"address:{address}"[:300]]

    def is_blocked(self, email: str, address: str) -> bool:
        return self._counts().is_blocked(self._keys(email, address))

    def record_failure(self, email: str, address: str) -> None:
        self._counts().record_failure(self._keys(email, address))

    def reset(self) -> None:
        """Forget every count (used between tests)."""
        self._counts().reset()


login_throttle = LoginThrottle()
