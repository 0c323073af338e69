"""Statements SQLAlchemy spells per database (INSERT ... ON CONFLICT), and telling a database
outage from a query's own error."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(table: sa.Table, dialect_name: str):
    """An INSERT with .on_conflict_do_update()/.on_conflict_do_nothing() for this database."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Steward runs on PostgreSQL or SQLite, not {dialect_name}")


def rowcount(result: sa.Result[Any]) -> int:
    """The rows an UPDATE or DELETE without RETURNING matched. Session.execute() is typed to
    return a Result, but for these statements it returns a CursorResult, which counts them."""
    assert isinstance(result, sa.CursorResult)
    return result.rowcount


# SQLSTATEs that mean the server went away or is not accepting connections yet: class 08
# (connection exception) and 57P01-57P03 (admin shutdown, crash shutdown, starting up).
_UNREACHABLE_STATES = ("57P01", "57P02", "57P03")


def is_database_unreachable(error: BaseException) -> bool:
    """True for connection-level failures only (server down, restarting, file unreadable).

    A query's own errors (a constraint, a cancelled statement, a lock timeout) are not outages.
    """
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if isinstance(original, psycopg.Error):
        if not isinstance(original, psycopg.OperationalError):
            return False
        state = original.sqlstate
        # No SQLSTATE: the failure happened before the server could answer (refused, reset).
        return state is None or state.startswith("08") or state in _UNREACHABLE_STATES
    if isinstance(original, sqlite3.OperationalError):
        return "unable to open database file" in str(original)
    return False
