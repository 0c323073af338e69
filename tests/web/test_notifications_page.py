"""The notifications page through HTTP: grouped by day, filtered by unread and by kind (a GET
form that works with and without htmx), each notification with its object's title and status
as they are now, only for what the reader may open, at a cost that does not grow with the
page."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.engine.models import Execution
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_notification, make_policy, make_workflow, step


def _day_headings(html: str) -> list[str]:
    import re

    return re.findall(r'<h2 id="notification-day-\d+">([^<]*)</h2>', html)


def _row(html: str, notification_id: int) -> str:
    start = html.index(f'<li id="notification-{notification_id}"')
    return html[start : html.index("</li>", start)]


def test_notifications_are_grouped_by_day_newest_first(as_role, users, db):
    owner = users["owner"]
    now = utcnow()
    make_notification(owner, "Long ago", created_at=now - timedelta(days=400))
    make_notification(owner, "Last week", created_at=now - timedelta(days=6))
    make_notification(owner, "Yesterday's", created_at=now - timedelta(days=1))
    make_notification(owner, "This morning", created_at=now - timedelta(seconds=2))
    make_notification(owner, "Just now", created_at=now)

    html = as_role("owner").get("/notifications").get_data(as_text=True)

    last_week = (now - timedelta(days=6)).date()
    long_ago = (now - timedelta(days=400)).date()
    assert _day_headings(html) == [
        "Today",
        "Yesterday",
        f"{last_week:%A} {last_week.day} {last_week:%B}",
        f"{long_ago:%A} {long_ago.day} {long_ago:%B %Y}",
    ]
    assert html.index("Just now") < html.index("This morning") < html.index("Yesterday&#39;s")
    assert html.index("Yesterday") < html.index("Yesterday&#39;s") < html.index("Last week")


def test_days_are_the_readers_days_in_their_time_zone(as_role, users, db):
    """Two notifications a minute apart either side of midnight in Kiritimati (UTC+14), which
    fall on one day in UTC, are today and yesterday for a reader in that zone."""
    from zoneinfo import ZoneInfo

    owner = users["owner"]
    owner.time_zone = "Pacific/Kiritimati"
    db.session.commit()
    zone = ZoneInfo(owner.time_zone)
    midnight = utcnow().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    make_notification(owner, "After midnight", created_at=midnight)
    make_notification(owner, "Before midnight", created_at=midnight - timedelta(minutes=1))

    html = as_role("owner").get("/notifications").get_data(as_text=True)

    assert _day_headings(html) == ["Today", "Yesterday"]
    assert html.index("After midnight") < html.index("Yesterday") < html.index("Before midnight")


def test_the_list_filters_by_unread_and_by_kind_with_and_without_htmx(as_role, users, db):
    owner = users["owner"]
    policy = make_policy(owner, title="Travel")
    make_notification(owner, "Policy read", link=f"/policies/{policy.id}", read=True)
    make_notification(owner, "Policy unread", link=f"/policies/{policy.id}")
    make_notification(owner, "Inbox unread", link="/approvals")
    make_notification(owner, "Old inbox address", link="/inbox", read=True)
    make_notification(owner, "Nothing linked")
    client = as_role("owner")

    page = client.get("/notifications").get_data(as_text=True)
    assert '<form class="filters" method="get" action="/notifications"' in page
    assert 'hx-get="/notifications" hx-target="#notification-list"' in page
    assert 'hx-push-url="true"' in page
    assert '<option value="policy" >Policies</option>' in page
    assert '<option value="approval" >Approvals</option>' in page

    unread = client.get("/notifications?show=unread").get_data(as_text=True)
    assert "Policy unread" in unread and "Inbox unread" in unread and "Nothing linked" in unread
    assert "Policy read" not in unread and "Old inbox address" not in unread
    assert '<option value="unread" selected>' in unread
    assert "3 unread notifications" in unread

    approvals = client.get("/notifications?kind=approval").get_data(as_text=True)
    assert "Inbox unread" in approvals and "Old inbox address" in approvals
    assert "Policy unread" not in approvals and "Nothing linked" not in approvals

    both = client.get(
        "/notifications?show=unread&kind=policy", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert both.lstrip().startswith('<section id="notification-list"') and "<html" not in both
    assert "Policy unread" in both and "Policy read" not in both and "Inbox" not in both

    none = client.get("/notifications?kind=execution").get_data(as_text=True)
    assert "No notifications match these filters." in none
    assert '<a class="button" href="/notifications">Clear filters</a>' in none
    # An unknown kind or show value is no filter at all.
    assert "Nothing linked" in client.get("/notifications?kind=nope&show=x").get_data(as_text=True)


def test_each_notification_shows_its_objects_title_and_status_now(as_role, users, db):
    owner, approver = users["owner"], users["approver"]
    make_workflow(
        users["admin"],
        name="Legal review",
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[step("review", "approval", {"users": [approver.id], "rule": "any"})]],
    )
    policy = make_policy(owner, title="Travel")
    make_notification(owner, "A draft for you", link=f"/policies/{policy.id}")
    factories.edit_policy(policy.id, owner, title="Travel and expenses")
    factories.policies.transition_policy(policy.id, "in_review", actor=owner)
    factories.run_queued_steps()

    owner_html = as_role("owner").get("/notifications").get_data(as_text=True)
    assert "Now:</span> Travel and expenses" in owner_html
    assert '<span class="badge status-in_review">In review</span>' in owner_html
    assert '<span class="notification-kind">Policies</span>' in owner_html

    approver_html = as_role("approver").get("/notifications").get_data(as_text=True)
    assert "Approval requested" in approver_html
    assert "Now:</span> Travel and expenses · Legal review" in approver_html
    assert '<span class="badge run-pending">Pending</span>' in approver_html
    assert '<span class="notification-kind">Approvals</span>' in approver_html


def test_exceptions_and_executions_are_named_with_their_status(as_role, users, db):
    world = factories.make_access_world(users)
    owner = users["owner"]
    news = make_notification(owner, "News", link=f"/policy-exceptions/{world['exception']}")
    old = make_notification(owner, "Old address", link=f"/exceptions/{world['exception']}")
    run = make_notification(owner, "Run news", link=f"/executions/{world['published_execution']}")

    html = as_role("owner").get("/notifications").get_data(as_text=True)

    for notification in (news, old):
        row = _row(html, notification.id)
        assert f"Now:</span> Published Policy: {factories.EXCEPTION_SCOPE}" in row
        assert '<span class="badge exception-active">Active</span>' in row
        assert f'href="/policy-exceptions/{world["exception"]}"' in row  # the page's address now
    assert "Now:</span> Published Policy · " in _row(html, run.id)
    exceptions = as_role("owner").get("/notifications?kind=exception").get_data(as_text=True)
    assert f'id="notification-{news.id}"' in exceptions
    assert f'id="notification-{old.id}"' in exceptions
    assert "Run news" not in exceptions


def test_a_notification_about_what_the_reader_may_not_open_names_no_object(as_role, users, db):
    world = factories.make_access_world(users)
    html = as_role("viewer").get("/notifications").get_data(as_text=True)
    assert "Something happened" in html
    assert f'href="/executions/{world["exception_execution"]}"' not in html
    assert "Now:" not in html
    for secret in world["secrets"]:
        assert secret not in html


def test_the_page_costs_the_same_statements_for_5_and_50_notifications(
    as_role, users, db, count_statements
):
    owner = users["owner"]
    factories.make_task_workflow(users["admin"], trigger={"type": "policy.created"})
    client = as_role("owner")

    def add(n: int) -> None:
        """n notifications, about a policy, its execution or the inbox in turn."""
        for number in range(n):
            if number % 3 == 0:
                policy = make_policy(owner, title=f"Policy {number}")
                make_notification(owner, f"About {number}", link=f"/policies/{policy.id}")
            elif number % 3 == 1:
                execution = db.session.scalars(sa.select(Execution.id)).all()[-1]
                make_notification(owner, f"Run {number}", link=f"/executions/{execution}")
            else:
                make_notification(owner, f"Inbox {number}", link="/approvals")

    def statements() -> int:
        with count_statements() as counter:
            html = client.get("/notifications").get_data(as_text=True)
        assert "Now:</span> Policy" in html and "· Review by hand" in html
        return counter.count

    add(5)
    client.get("/notifications")  # warm up: the session and the user are loaded
    few = statements()
    add(45)
    many = statements()
    assert many == few
