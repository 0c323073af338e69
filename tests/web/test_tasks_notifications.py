"""Notifications through HTTP: my list, marking read, who may, and the unread count in the
navigation. (The tasks page has its own tests in test_tasks.py.)"""

from __future__ import annotations

from datetime import timedelta

from governance.extensions import db as _db
from governance.notifications.models import Notification
from governance.timeutil import utcnow
from tests import factories


def _notification(user, subject: str, *, read=False, link=None, minutes_ago=0) -> Notification:
    notification = Notification(
        user_id=user.id,
        subject=subject,
        body=f"About {subject}",
        link=link,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        read_at=utcnow() if read else None,
    )
    _db.session.add(notification)
    _db.session.commit()
    return notification


def _fresh(db, model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


# ------------------------------------------------------------------ notifications


def test_my_notifications_are_newest_first_with_unread_highlighted(as_role, users, db):
    owner = users["owner"]
    policy = factories.make_policy(owner)
    _notification(owner, "Oldest", read=True, minutes_ago=30)
    unread = _notification(owner, "Middle", minutes_ago=20, link=f"/policies/{policy.id}")
    _notification(owner, "Newest", minutes_ago=1)
    _notification(users["other_owner"], "Someone else's")

    html = as_role("owner").get("/notifications").get_data(as_text=True)
    assert html.index("Newest") < html.index("Middle") < html.index("Oldest")
    assert "Someone else&#39;s" not in html and "Someone else's" not in html
    assert f'id="notification-{unread.id}" class="notification unread"' in html
    assert html.count("notification unread") == 2
    assert f'<a href="/policies/{policy.id}">Middle</a>' in html


def test_a_link_outside_steward_is_not_rendered(as_role, users, db):
    _notification(users["owner"], "Sneaky", link="javascript:alert(1)")
    _notification(users["owner"], "Elsewhere", link="//evil.example/x")
    html = as_role("owner").get("/notifications").get_data(as_text=True)
    assert "javascript:" not in html and "evil.example" not in html


def test_navigation_shows_the_unread_count(as_role, users, db):
    _notification(users["owner"], "One")
    _notification(users["owner"], "Two")
    _notification(users["owner"], "Read", read=True)
    _notification(users["viewer"], "Not the owner's")
    html = as_role("owner").get("/policies").get_data(as_text=True)
    # A badge like the inbox's, so the bar stays one row; "2 unread" to a screen reader.
    unread = '<span class="nav-badge nav-unread">2</span><span class="visually-hidden"> unread'
    assert unread in html
    assert html.index(">Notifications<") < html.index(unread)
    assert ">Executions</a>" in html and ">Tasks</a>" in html
    viewer_html = as_role("approver").get("/policies").get_data(as_text=True)
    assert "nav-unread" not in viewer_html


def test_the_unread_count_costs_one_query_per_page_and_none_per_fragment(
    as_role, users, db, count_statements
):
    _notification(users["owner"], "One")
    client = as_role("owner")
    with count_statements() as page:
        client.get("/tasks")
    with count_statements() as fragment:
        client.get("/tasks", headers={"HX-Request": "true"})
    assert sum("FROM notifications" in s for s in page.statements) == 1
    assert sum("FROM notifications" in s for s in fragment.statements) == 0


def test_mark_all_read_marks_only_mine(as_role, users, db):
    mine = [_notification(users["owner"], f"N{n}") for n in range(3)]
    theirs = _notification(users["approver"], "Theirs")
    response = as_role("owner").submit(
        "/notifications/read-all", token_from="/notifications", follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "Marked 3 notifications read." in html
    assert "nav-unread" not in html
    assert all(_fresh(db, Notification, n.id).read_at is not None for n in mine)
    assert _fresh(db, Notification, theirs.id).read_at is None
    again = as_role("owner").submit(
        "/notifications/read-all", token_from="/notifications", follow_redirects=True
    )
    assert "Nothing unread." in again.get_data(as_text=True)


def test_mark_one_notification_read(as_role, users, db):
    first = _notification(users["owner"], "First")
    second = _notification(users["owner"], "Second")
    response = as_role("owner").submit(
        f"/notifications/{first.id}/read", token_from="/notifications"
    )
    assert response.status_code == 303
    assert _fresh(db, Notification, first.id).read_at is not None
    assert _fresh(db, Notification, second.id).read_at is None


def test_someone_elses_notification_cannot_be_marked_read(as_role, users, db):
    theirs = _notification(users["approver"], "Private")
    response = as_role("owner").submit(
        f"/notifications/{theirs.id}/read", token_from="/notifications"
    )
    assert response.status_code == 404  # as for none at all: a 403 would say it exists
    assert _fresh(db, Notification, theirs.id).read_at is None


def test_marking_an_unknown_notification_read_is_not_found(as_role, users, db):
    response = as_role("owner").submit("/notifications/99999/read", token_from="/notifications")
    assert response.status_code == 404


def test_notification_actions_need_a_csrf_token_and_a_login(client, as_role, users, db):
    note = _notification(users["owner"], "Guarded")
    owner = as_role("owner")
    assert owner.post("/notifications/read-all").status_code == 400
    assert owner.post(f"/notifications/{note.id}/read", data={"csrf_token": "x"}).status_code == 400
    assert owner.get("/notifications/read-all").status_code == 405
    token = client.csrf_token("/login")
    for url in ("/notifications/read-all", f"/notifications/{note.id}/read"):
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert client.get("/notifications").status_code == 302
    assert _fresh(db, Notification, note.id).read_at is None
