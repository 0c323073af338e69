"""One unit of work: a command runs in `with unit_of_work():` and commits once, or not at all.

Views never commit or roll back; services that change state run inside a unit of work. Units
nest: only the outermost commits (or rolls back), so a command may call another command and
the two land together.
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
