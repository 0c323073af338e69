"""unit_of_work(): one commit on success, a rollback on any error, inner units join the outer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance import extensions
from governance.auth.models import Group
from governance.unit_of_work import in_unit_of_work, unit_of_work


def _group_names(db) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(sa.select(Group.name)))


def test_a_unit_that_ends_commits_what_it_wrote(db):
    with unit_of_work():
        db.session.add(Group(name="Committed"))
    assert "Committed" in _group_names(db)


def test_an_error_rolls_the_whole_unit_back_and_reaches_the_caller(db):
    with pytest.raises(ValueError), unit_of_work():
        db.session.add(Group(name="Rolled back"))
        db.session.flush()
        raise ValueError("refused")
    assert "Rolled back" not in _group_names(db)


def test_an_inner_unit_joins_the_outer_one(db):
    with pytest.raises(RuntimeError), unit_of_work():
        with unit_of_work():
            db.session.add(Group(name="Inner"))
        assert in_unit_of_work()
        raise RuntimeError("the outer command fails after the inner one ended")
    assert "Inner" not in _group_names(db)
    assert not in_unit_of_work()


@unit_of_work()
def _add_group(name: str, *, refuse: bool = False) -> None:
    extensions.db.session.add(Group(name=name))
    extensions.db.session.flush()
    if refuse:
        raise ValueError("refused")


def test_a_command_decorated_as_a_unit_commits_each_call_or_rolls_it_back(db):
    _add_group("First call")
    _add_group("Second call")
    with pytest.raises(ValueError):
        _add_group("Refused call", refuse=True)
    assert {"First call", "Second call"} <= _group_names(db)
    assert "Refused call" not in _group_names(db)
    assert not in_unit_of_work()
