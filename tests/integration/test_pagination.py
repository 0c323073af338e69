"""Pagination counts at most a capped number of rows, so its cost does not grow with the table."""

from datetime import date

import sqlalchemy as sa

from governance.policies.models import Policy
from governance.policies.service import list_categories
from governance.web.pagination import LAST_PAGE, paginate
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


def test_last_page_past_the_cap_is_the_last_rows_in_list_order(db):
    owner = factories.make_user("owner")
    for number in range(8):
        review = date(2030, 1, 8 - number) if number % 2 else None
        factories.make_policy(owner, title=f"P{number}", next_review_on=review)
    by_title = sa.select(Policy).order_by(Policy.title.desc(), Policy.id.desc())
    last = paginate(by_title, page=LAST_PAGE, per_page=3, cap=5)
    assert [p.title for p in last.items] == ["P2", "P1", "P0"]
    assert last.is_unnumbered_last and not last.has_next and not last.has_prev
    assert (last.total, last.total_is_exact) == (5, False)
    # NULLS LAST turns into NULLS FIRST and back: the rows and their order are the OFFSET's.
    by_review = sa.select(Policy).order_by(Policy.next_review_on.asc().nulls_last(), Policy.id)
    offset_last = paginate(by_review, page=3, per_page=3, cap=50).items
    assert paginate(by_review, page=LAST_PAGE, per_page=3, cap=5).items[-2:] == offset_last


def test_last_page_within_the_cap_is_an_ordinary_numbered_page(db):
    owner = factories.make_user("owner")
    for number in range(8):
        factories.make_policy(owner, title=f"P{number}")
    last = paginate(sa.select(Policy).order_by(Policy.title), page=LAST_PAGE, per_page=3)
    assert [p.title for p in last.items] == ["P6", "P7"]
    assert (last.page, last.pages, last.has_prev, last.is_unnumbered_last) == (3, 3, True, False)


def test_a_total_already_counted_spares_the_count(db, count_statements):
    owner = factories.make_user("owner")
    for number in range(5):
        factories.make_policy(owner, title=f"P{number}")
    statement = sa.select(Policy).order_by(Policy.title)
    with count_statements() as counter:
        page = paginate(statement, page=2, per_page=2, cap=3, total=5)
    assert counter.count == 1
    assert [p.title for p in page.items] == ["P2", "P3"]
    assert (page.total, page.total_is_exact, page.pages, page.has_next) == (5, True, 3, True)
