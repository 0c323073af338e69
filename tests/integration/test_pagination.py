"""Pagination counts at most a capped number of rows, so its cost does not grow with the table."""

import sqlalchemy as sa

from governance.policies.models import Policy
from governance.policies.service import list_categories
from governance.web.pagination import paginate
from tests import factories


def test_count_stops_at_the_cap_and_paging_goes_on(db):
    owner = factories.make_user("owner")
    for number in range(8):
        factories.make_policy(owner, title=f"P{number}")
    statement = sa.select(Policy).order_by(Policy.title)
    first = paginate(statement, page=1, per_page=3, cap=5)
    assert [p.title for p in first.items] == ["P0", "P1", "P2"]
    assert (first.total, first.total_is_exact, first.pages) == (5, False, None)
    assert first.has_next and not first.has_prev
    last = paginate(statement, page=3, per_page=3, cap=50)
    assert [p.title for p in last.items] == ["P6", "P7"]
    assert (last.total, last.total_is_exact, last.pages, last.has_next) == (8, True, 3, False)


def test_categories_are_listed_once_each_in_order(db):
    owner = factories.make_user("owner")
    for category in ["Security", "Ethics", "Security", "Privacy", "Ethics"]:
        factories.make_policy(owner, category=category)
    assert list_categories() == ["Ethics", "Privacy", "Security"]
