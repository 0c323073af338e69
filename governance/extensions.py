"""Unbound extensions and the Huey transport: a leaf module that feature code imports."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from huey import RedisHuey, SqliteHuey

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
    if TYPE_CHECKING:
        # Every model maps one table, so Model.__table__ works with insert(), update() and
        # Table's own methods (SQLAlchemy types it as any FromClause).
        __table__: ClassVar[sa.Table]


def include_in_migrations(dialect_name: str):
    """Alembic's include_object filter: leave out indexes meant for another database."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        only_on = getattr(obj, "info", {}).get("only_on")
        return only_on is None or only_on == dialect_name

    return include


db = SQLAlchemy(model_class=Base)
# Models subclass Model, which is db.Model. A type checker cannot take a class from an attribute
# of an instance, so it is shown Base, the declarative base db.Model is built from.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()


def _build_huey():
    settings = huey_settings()
    if settings["kind"] == "redis":
        return RedisHuey(settings["name"], url=settings["url"], utc=True, results=False)
    from pathlib import Path

    Path(settings["path"]).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings["name"], filename=settings["path"], utc=True, results=False)


# Built at import because task decorators bind to it; the consumer imports governance.worker.
huey = _build_huey()
