"""One unit of work: a command runs in `with unit_of_work():` and commits once, or not at all.

The rule: a service function that changes state is a command and owns its transaction, as
`@unit_of_work()` on the whole function or `with unit_of_work():` around the part that writes
(when something must follow the commit, such as handing an id to the queue). It raises a
DomainError to refuse, and the unit rolls back. Views, API handlers and CLI commands call
commands and never commit or roll back (tests/unit/test_transaction_boundaries.py checks the
views and the API); a view turns the DomainError into a flash, a form error or a 4xx.

Units nest: only the outermost commits (or rolls back), so a command may call another command
and the two land together. A helper that writes only as part of its caller's unit says so in
its name (`..._in_transaction`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.orm as so

from governance.extensions import db

_DEPTH_KEY = "steward.unit_of_work_depth"


@contextmanager
def unit_of_work() -> Iterator[so.Session]:
    """Commit on success, roll back on any error (and re-raise it); inner units join the outer."""
    session = db.session()
    depth = session.info.get(_DEPTH_KEY, 0)
    session.info[_DEPTH_KEY] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH_KEY] = depth


def in_unit_of_work() -> bool:
    """True inside `with unit_of_work():`, for helpers that must join a caller's transaction."""
    return db.session().info.get(_DEPTH_KEY, 0) > 0
