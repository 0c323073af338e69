"""Keyset pages, newest first: the cost of a page does not grow with the table."""

from __future__ import annotations

import sqlalchemy as sa

from governance.api.schemas import PageQuery, decode_cursor, encode_cursor
from governance.extensions import db


def keyset_page(statement: sa.Select, id_column, page: PageQuery) -> tuple[list, str | None]:
    """One page of `statement` ordered by `id_column` descending, and the next page's cursor."""
    if page.cursor and (after := decode_cursor(page.cursor)) is not None:
        statement = statement.where(id_column < after)
    statement = statement.order_by(None).order_by(id_column.desc()).limit(page.limit + 1)
    rows = list(db.session.scalars(statement).unique())
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(rows[-1].id)
