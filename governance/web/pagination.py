"""Offset pagination whose cost does not grow with the table: the count stops at a cap."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import request

from governance.extensions import db

COUNT_CAP = 10_000


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    total_is_exact: bool  # False when there are more than COUNT_CAP rows

    @property
    def pages(self) -> int | None:
        return max(1, math.ceil(self.total / self.per_page)) if self.total_is_exact else None

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(statement: sa.Select, *, page: int, per_page: int, cap: int = COUNT_CAP) -> Page:
    """One page of `statement` and a count of at most cap+1 rows: two queries, whatever the size."""
    page = max(1, page)
    counted = statement.order_by(None).limit(cap + 1).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0
    items = list(
        db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).unique()
    )
    return Page(items, page, per_page, min(total, cap), total_is_exact=total <= cap)


def page_from_args(last: int = 100_000) -> int:
    """The ?page= of this request: a number from 1 to `last`; anything else is page 1."""
    return max(1, min(request.args.get("page", 1, type=int) or 1, last))
