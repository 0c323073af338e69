"""What tests do to the database behind Steward's back: a connection on which the audit
tables' append-only triggers do not fire, and migrations run without losing the loggers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

AUDIT_TABLES = ("audit_events", "audit_chain_head", "audit_checkpoints")


@contextmanager
def audit_triggers_off(connection: sa.Connection) -> Iterator[sa.Connection]:
    """For this transaction only, no audit trigger fires: what the database's owner or a
    superuser can always arrange. The trigger definitions themselves stay as they are."""
    if connection.dialect.name == "postgresql":
        # A superuser in replica mode fires no ordinary trigger (TRUNCATE ones included).
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        yield connection
        return
    # pysqlite begins a transaction only before INSERT/UPDATE/DELETE; begun here, it also
    # holds the DROP TRIGGER, so the triggers are back when anything else sees the tables.
    connection.exec_driver_sql("BEGIN")
    triggers = connection.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :tables"
        ).bindparams(sa.bindparam("tables", expanding=True)),
        {"tables": list(AUDIT_TABLES)},
    ).all()
    for trigger in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{trigger.name}"')
    yield connection
    for trigger in triggers:
        connection.exec_driver_sql(trigger.sql)


@contextmanager
def behind_stewards_back(db) -> Iterator[sa.Connection]:
    """A transaction of its own in which no audit trigger fires."""
    db.session.rollback()  # the test's own session must not hold locks on the tables
    with db.engine.begin() as connection, audit_triggers_off(connection):
        yield connection


@contextmanager
def loggers_left_alone() -> Iterator[None]:
    """Alembic's env.py runs logging.config.fileConfig, which disables every logger that
    exists; later tests read some of them."""
    loggers = [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    disabled = [logger.disabled for logger in loggers]
    root_level = logging.getLogger().level
    try:
        yield
    finally:
        for logger, was_disabled in zip(loggers, disabled, strict=True):
            logger.disabled = was_disabled
        logging.getLogger().setLevel(root_level)
