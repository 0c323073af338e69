"""The governance dashboard: who sees it, its figures against seeded data, and that each
figure links to a list showing the same number of rows."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.dashboard_data import seed_estate


def _figure(page: str, element_id: str) -> tuple[str, str]:
    """(href, text) of the link with this id."""
    match = re.search(rf'<a id="{element_id}" href="([^"]+)">(\d+)</a>', page)
    assert match, f"no figure {element_id}"
    return match.group(1).replace("&amp;", "&"), match.group(2)


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("owner", 200), ("approver", 200)])
def test_governance_roles_see_the_dashboard_and_its_nav_link(as_role, db, role, status):
    client = as_role(role)
    response = client.get("/dashboard")
    assert response.status_code == status
    assert 'href="/dashboard"' in client.get("/policies").get_data(as_text=True)


def test_a_plain_viewer_is_refused_and_has_no_link(as_role, db):
    client = as_role("viewer")
    assert client.get("/dashboard").status_code == 403
    assert 'href="/dashboard"' not in client.get("/policies").get_data(as_text=True)


def test_an_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_dashboard_figures_match_the_seeded_data_and_link_to_their_lists(as_role, users, db):
    estate = seed_estate(users)
    client = as_role("admin")
    page = client.get("/dashboard").get_data(as_text=True)

    expected = {"draft": 2, "in_review": 3, "approved": 1, "published": 5, "retired": 1}
    for status, count in expected.items():
        href, text = _figure(page, f"dash-status-{status}")
        assert (href, text) == (f"/policies?status={status}", str(count))
        listing = client.get(href).get_data(as_text=True)
        assert f"{count} polic{'y' if count == 1 else 'ies'}" in listing

    href, text = _figure(page, "dash-overdue-count")
    assert text == "1"
    listing = client.get(href).get_data(as_text=True)
    assert "1 policy" in listing and "Information Security Policy" in listing

    href, text = _figure(page, "dash-due-count")
    assert text == "2"
    listing = client.get(href).get_data(as_text=True)
    assert "2 policies" in listing
    assert "Acceptable Use Policy" in listing and "Data Retention Policy" in listing
    assert "Business Continuity Plan" not in listing

    href, text = _figure(page, "dash-approvals-count")
    assert (href, text) == ("/executions?status=waiting", "6")
    assert "1 past due" in page
    for key, count in (("under_1d", 2), ("1_3d", 1), ("3_7d", 2), ("over_7d", 1)):
        assert re.search(rf'id="dash-age-{key}"><a href="[^"]+">{count}</a>', page), key

    href, text = _figure(page, "dash-exceptions-count")
    assert (href, text) == ("/policy-exceptions?status=active", "2")
    assert "Legacy payroll server (no MFA)" in page and "Old kiosk terminals" not in page

    assert f'href="/policies/{estate.campaign_policy_id}/acknowledgements">Code of Conduct' in page
    assert "6 / 8" in page and "75%" in page


def test_the_dashboard_costs_the_same_queries_with_more_data(as_role, users, db, count_statements):
    seed_estate(users, extra_people=1)
    client = as_role("admin")
    client.get("/dashboard")
    with count_statements() as small:
        assert client.get("/dashboard").status_code == 200
    for index in range(6):
        factories.make_policy(
            users["owner"], status="published", admin=users["admin"], title=f"More {index}"
        )
    seed_estate(users, extra_people=4)
    with count_statements() as large:
        assert client.get("/dashboard").status_code == 200
    assert large.count == small.count


def test_seed_demo_shows_an_overdue_review_and_one_due_soon(app, db, client):
    import sqlalchemy as sa

    from devdata.demo import DEMO_PASSWORD
    from governance.policies.models import Policy

    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "1 policy flagged “review overdue”" in result.output
    overdue = db.session.scalar(sa.select(Policy).where(Policy.review_overdue_since.is_not(None)))
    assert (overdue.title, overdue.status) == ("Acceptable Use of IT Systems", "published")
    assert client.login("admin@example.org", DEMO_PASSWORD).status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    assert _figure(page, "dash-overdue-count")[1] == "1"
    assert _figure(page, "dash-due-count")[1] == "1"
