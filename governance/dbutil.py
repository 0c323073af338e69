"""Statements SQLAlchemy spells per database: INSERT ... ON CONFLICT on PostgreSQL and SQLite."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(table: sa.Table, dialect_name: str):
    """An INSERT with .on_conflict_do_update()/.on_conflict_do_nothing() for this database."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Steward runs on PostgreSQL or SQLite, not {dialect_name}")
