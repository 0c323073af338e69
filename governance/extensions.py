"""Unbound extensions and the Huey transport: a leaf module that feature code imports."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from huey import RedisHuey, SqliteHuey
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from governance.config import huey_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def include_in_migrations(dialect_name: str):
    """Alembic's include_object filter: leave out indexes meant for another database."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        only_on = getattr(obj, "info", {}).get("only_on")
        return only_on is None or only_on == dialect_name

    return include


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()


class LoginThrottle:
    """Failed logins per account and per address, in Redis when configured.

    Only failures are counted, so a successful login costs nothing. The counters belong to
    each app (kept in app.extensions), like any Flask extension's state.
    """

    def init_app(self, app: Flask) -> None:
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        app.extensions["login_throttle"] = (
            MovingWindowRateLimiter(storage),
            parse(app.config["LOGIN_FAILURE_LIMIT"]),
        )

    def _state(self) -> tuple[MovingWindowRateLimiter, RateLimitItem]:
        return current_app.extensions["login_throttle"]

    def _keys(self, email: str, address: str) -> list[tuple[str, str]]:
        return [("login-account", email.strip().lower()), ("login-address", address)]

    def is_blocked(self, email: str, address: str) -> bool:
        limiter, limit = self._state()
        return any(not limiter.test(limit, *key) for key in self._keys(email, address))

    def record_failure(self, email: str, address: str) -> None:
        limiter, limit = self._state()
        for key in self._keys(email, address):
            limiter.hit(limit, *key)

    def reset(self) -> None:
        """Forget every count (used between tests)."""
        limiter, _ = self._state()
        limiter.storage.reset()


login_throttle = LoginThrottle()


def _build_huey():
    settings = huey_settings()
    if settings["kind"] == "redis":
        return RedisHuey(settings["name"], url=settings["url"], utc=True, results=False)
    from pathlib import Path

    Path(settings["path"]).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings["name"], filename=settings["path"], utc=True, results=False)


# Built at import because task decorators bind to it; the consumer imports governance.worker.
huey = _build_huey()
