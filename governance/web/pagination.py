"""Offset pagination whose cost does not grow with the table: the count stops at a cap, and
the last page of a list longer than the cap is read from the other end (keyset, not OFFSET)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import request
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from governance.extensions import db
from governance.parsing import parse_int

COUNT_CAP = 10_000
# ?page=last: the pager links to it when the count stopped at the cap and the number is unknown.
LAST_PAGE = 0


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    total_is_exact: bool  # False when there are more than COUNT_CAP rows
    # The last rows of a list longer than the cap: its page number is unknown.
    is_unnumbered_last: bool = False

    @property
    def pages(self) -> int | None:
        return max(1, math.ceil(self.total / self.per_page)) if self.total_is_exact else None

    @property
    def has_prev(self) -> bool:
        return self.page > 1 and not self.is_unnumbered_last

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total and not self.is_unnumbered_last

    @property
    def last_page_arg(self) -> int | str:
        """The ?page= of the last page: its number when the total is exact, else "last"."""
        return self.pages if self.pages is not None else "last"

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(
    statement: sa.Select,
    *,
    page: int,
    per_page: int,
    cap: int = COUNT_CAP,
    total: int | None = None,
) -> Page:
    """One page of `statement` and a count of at most cap+1 rows: two queries, whatever the size.

    `total`: the exact number of rows when the caller has already counted them (no count then).
    `page` may be LAST_PAGE. Within the cap the last page is an ordinary numbered page; past
    it, an OFFSET would read the whole list, so the last rows are read in reverse order instead.
    """
    if total is not None:
        cap = max(cap, total)
    else:
        counted = statement.order_by(None).limit(cap + 1).subquery()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0
    is_exact = total <= cap
    if page == LAST_PAGE and not is_exact:
        reverse = statement.order_by(None).order_by(
            *(_reversed(clause) for clause in statement._order_by_clauses)
        )
        items = list(db.session.scalars(reverse.limit(per_page)).unique())
        items.reverse()
        return Page(items, 1, per_page, cap, total_is_exact=False, is_unnumbered_last=True)
    if page == LAST_PAGE:
        page = max(1, math.ceil(total / per_page))
    page = max(1, page)
    items = list(
        db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).unique()
    )
    return Page(items, page, per_page, min(total, cap), total_is_exact=is_exact)


def _reversed(clause: sa.ColumnElement) -> sa.ColumnElement:
    """`updated_at DESC` -> `updated_at ASC`, `x ASC NULLS LAST` -> `x DESC NULLS FIRST`."""
    nulls = None
    if isinstance(clause, UnaryExpression) and clause.modifier in (
        operators.nulls_first_op,
        operators.nulls_last_op,
    ):
        nulls, clause = clause.modifier, clause.element
    if isinstance(clause, UnaryExpression) and clause.modifier is operators.desc_op:
        flipped = clause.element.asc()
    elif isinstance(clause, UnaryExpression) and clause.modifier is operators.asc_op:
        flipped = clause.element.desc()
    else:
        flipped = clause.desc()
    if nulls is operators.nulls_last_op:
        return flipped.nulls_first()
    if nulls is operators.nulls_first_op:
        return flipped.nulls_last()
    return flipped


def page_from_args(last: int = 100_000) -> int:
    """The ?page= of this request: a number from 1 to `last`, or LAST_PAGE; else page 1."""
    text = request.args.get("page", "")
    if text == "last":
        return LAST_PAGE
    try:
        return min(parse_int(text), last)
    except ValueError:
        return 1
