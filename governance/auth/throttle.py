"""The login throttle: failed logins per account and per address, shared by every web process.

An attempt takes its place in the account's count *before* the password is checked, in one
atomic step that refuses once the limit is reached: guesses at one account sent at the same
moment to several workers cannot all pass a check made before any of them failed. A
successful login gives the place back, so it costs nothing. The address's count only adds
failures (many people may log in at once from one office address); it refuses once full.
Counts live in Redis when REDIS_URL is set, else in the database's login_failures table;
both count in fixed windows of the limit's length.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from sqlalchemy.dialects import postgresql, sqlite

from governance.auth.models import LoginFailure
from governance.dbutil import rowcount
from governance.extensions import db
from governance.timeutil import utcnow
from governance.unit_of_work import in_unit_of_work, unit_of_work


class RedisCounts:
    def __init__(self, storage_uri: str, limit: RateLimitItem) -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):  # an async+ URI: this app calls it synchronously
            raise ValueError(f"RATELIMIT_STORAGE_URI must name a synchronous store: {storage_uri}")
        self.storage = storage
        self.limit = limit
        self.expiry = limit.get_expiry()

    def is_full(self, key: str) -> bool:
        return self.storage.get(key) >= self.limit.amount

    def take(self, key: str) -> bool:
        # INCR is atomic: of concurrent attempts, only those within the limit see a small count.
        if self.storage.incr(key, self.expiry) <= self.limit.amount:
            return True
        self.give_back(key)
        return False

    def add(self, key: str) -> None:
        self.storage.incr(key, self.expiry)

    def give_back(self, key: str) -> None:
        if self.storage.incr(key, self.expiry, -1) < 0:  # the window ended meanwhile
            self.storage.clear(key)

    def reset(self) -> None:
        self.storage.reset()


def _own_unit_of_work():
    """A count is its own transaction, committed before the password is checked: joined to a
    caller's unit it would vanish with a refused login, and other workers would not see it."""
    assert not in_unit_of_work(), "the login throttle commits on its own"
    return unit_of_work()


class DatabaseCounts:
    """One row per key, written by one upsert: taking a place changes nothing when the window
    is full, and whether it wrote decides, on SQLite and PostgreSQL alike."""

    def __init__(self, limit: RateLimitItem) -> None:
        self.limit = limit
        self.window = timedelta(seconds=limit.get_expiry())

    def is_full(self, key: str) -> bool:
        full = db.session.scalar(
            sa.select(LoginFailure.key).where(
                LoginFailure.key == key,
                LoginFailure.window_started_at > utcnow() - self.window,
                LoginFailure.failures >= self.limit.amount,
            )
        )
        return full is not None

    def _count(self, key: str, *, unless_full: bool) -> bool:
        now = utcnow()
        insert = (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert
        statement = insert(LoginFailure).values(key=key, failures=1, window_started_at=now)
        started = statement.excluded.window_started_at
        # Inside the window: one more. A window that has passed starts again at this attempt.
        fresh = LoginFailure.window_started_at > now - self.window
        statement = statement.on_conflict_do_update(
            index_elements=[LoginFailure.key],
            set_={
                "failures": sa.case((fresh, LoginFailure.failures + 1), else_=1),
                "window_started_at": sa.case(
                    (fresh, LoginFailure.window_started_at), else_=started
                ),
            },
            where=(
                sa.or_(sa.not_(fresh), LoginFailure.failures < self.limit.amount)
                if unless_full
                else None
            ),
        )
        # A row comes back only if the insert or the update happened (rowcount is not
        # reliable for an upsert through every driver).
        with _own_unit_of_work():
            wrote = db.session.execute(statement.returning(LoginFailure.failures)).first()
        return wrote is not None

    def take(self, key: str) -> bool:
        return self._count(key, unless_full=True)

    def add(self, key: str) -> None:
        self._count(key, unless_full=False)

    def give_back(self, key: str) -> None:
        with _own_unit_of_work():
            db.session.execute(
                sa.update(LoginFailure)
                .where(LoginFailure.key == key, LoginFailure.failures > 0)
                .values(failures=LoginFailure.failures - 1)
            )

    def reset(self) -> None:
        with _own_unit_of_work():
            db.session.execute(sa.delete(LoginFailure))


def prune_login_failures(now: datetime, window: timedelta) -> int:
    """Delete counts whose window has passed (housekeeping); returns how many went."""
    with unit_of_work():
        result = db.session.execute(
            sa.delete(LoginFailure).where(LoginFailure.window_started_at <= now - window)
        )
    return rowcount(result) or 0


class LoginThrottle:
    """Each app keeps its own store in app.extensions, like any Flask extension's state."""

    def init_app(self, app: Flask) -> None:
        limit = parse(app.config["LOGIN_FAILURE_LIMIT"])
        counts: RedisCounts | DatabaseCounts
        if app.config["LOGIN_THROTTLE_STORE"] == "redis":
            counts = RedisCounts(app.config["RATELIMIT_STORAGE_URI"], limit)
        else:
            counts = DatabaseCounts(limit)
        app.extensions["login_throttle"] = counts

    def _counts(self) -> RedisCounts | DatabaseCounts:
        return current_app.extensions["login_throttle"]

    @staticmethod
    def _account(email: str) -> str:
        return f"account:{email.strip().lower()}"[:300]

    @staticmethod
    def _address(address: str) -> str:
        return f"address:{address}"[:300]

    def take_attempt(self, email: str, address: str) -> bool:
        """Count this attempt as failed until it succeeds; False: too many, refuse it."""
        counts = self._counts()
        return not counts.is_full(self._address(address)) and counts.take(self._account(email))

    def record_failure(self, email: str, address: str) -> None:
        """The attempt failed: it stays counted for the account, and now counts for the address."""
        self._counts().add(self._address(address))

    def give_back_attempt(self, email: str, address: str) -> None:
        """The attempt succeeded: it does not count."""
        self._counts().give_back(self._account(email))

    def reset(self) -> None:
        """Forget every count (used between tests)."""
        self._counts().reset()


login_throttle = LoginThrottle()
