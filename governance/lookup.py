"""Small lookups every service needs: a row by id (or NotFound), and whether a name is taken."""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa

from governance.errors import NotFound
from governance.extensions import db

Row = TypeVar("Row")


def get_or_raise(model: type[Row], ident: int, message: str) -> Row:
    """The row with this primary key, or NotFound(message) (a 404 for views)."""
    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(message)
    return row


def name_taken(model, name: str, exclude_id: int | None = None) -> bool:
    """Whether another row of `model` has this name, ignoring case."""
    query = sa.select(model.id).where(sa.func.lower(model.name) == name.lower())
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    return db.session.scalar(query) is not None
