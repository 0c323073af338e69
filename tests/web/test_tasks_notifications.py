"""Tasks and notifications through HTTP: my lists, marking done or read, who may, and the
unread count in the navigation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.extensions import db as _db
from governance.notifications.models import Notification
from governance.tasks.models import Task
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_workflow, run_queued_steps, step


def _task(user, title: str, due_in_days: int | None = None, policy=None, done=False) -> Task:
    today = utcnow().date()
    task = Task(
        title=title,
        assignee_id=user.id,
        due_on=today + timedelta(days=due_in_days) if due_in_days is not None else None,
        policy_id=policy.id if policy else None,
        done_at=utcnow() if done else None,
    )
    _db.session.add(task)
    _db.session.commit()
    return task


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


# ------------------------------------------------------------------ tasks


def test_my_open_tasks_are_sorted_by_due_date_with_their_policy(as_role, users, db):
    owner = users["owner"]
    policy = factories.make_policy(owner, title="Travel Policy")
    _task(owner, "Later", due_in_days=10)
    _task(owner, "Undated")
    _task(owner, "Overdue one", due_in_days=-2, policy=policy)
    _task(owner, "Soon", due_in_days=1)
    _task(owner, "Finished", due_in_days=0, done=True)
    _task(users["other_owner"], "Not mine", due_in_days=0)

    html = as_role("owner").get("/tasks").get_data(as_text=True)
    order = ["Overdue one", "Soon", "Later", "Undated"]
    assert [html.index(f"<td>{title}</td>") for title in order] == sorted(
        html.index(f"<td>{title}</td>") for title in order
    )
    assert "Not mine" not in html and "Finished" not in html
    assert f'<a href="/policies/{policy.id}">Travel Policy</a>' in html
    assert 'class="overdue"' in html and "Overdue</span>" in html
    assert "4 open tasks" in html


def test_done_tab_lists_finished_tasks(as_role, users, db):
    _task(users["owner"], "Open one", due_in_days=3)
    _task(users["owner"], "Finished one", done=True)
    html = as_role("owner").get("/tasks?tab=done").get_data(as_text=True)
    assert "Finished one" in html and "Open one" not in html
    assert "Mark done" not in html
    # An unknown tab is the open list.
    assert "Open one" in as_role("owner").get("/tasks?tab=bogus").get_data(as_text=True)


def test_tasks_made_by_a_workflow_step_reach_the_assignees_list(as_role, users, db):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [
                step(
                    "todo",
                    "create_task",
                    {"title": "Check {{ policy.title }}", "assignee": "owner", "due_days": 7},
                )
            ]
        ],
    )
    factories.make_policy(users["owner"], title="Vendors")
    run_queued_steps()
    assert "Check Vendors" in as_role("owner").get("/tasks").get_data(as_text=True)


def test_assignee_marks_a_task_done(as_role, users, db):
    task = _task(users["owner"], "Read the policy", due_in_days=1)
    client = as_role("owner")
    response = client.submit(f"/tasks/{task.id}/done", token_from="/tasks", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "“Read the policy” is done." in html
    assert _fresh(db, Task, task.id).done_at is not None
    assert 'id="task-row-' not in html  # gone from the open list
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "task.done"))
    assert [(e.actor_id, e.object_id) for e in events] == [(users["owner"].id, task.id)]


def test_admin_may_mark_someone_elses_task_done(as_role, users, db):
    task = _task(users["owner"], "Sign off")
    response = as_role("admin").submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 303
    assert _fresh(db, Task, task.id).done_at is not None


@pytest.mark.parametrize("role", ["other_owner", "approver", "viewer"])
def test_others_cannot_mark_a_task_done(as_role, users, db, role):
    task = _task(users["owner"], "Mine only")
    response = as_role(role).submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 403
    assert "Only the person the task is assigned to" in response.get_data(as_text=True)
    assert _fresh(db, Task, task.id).done_at is None


def test_marking_an_unknown_task_done_is_not_found(as_role, users, db):
    response = as_role("owner").submit("/tasks/99999/done", token_from="/tasks")
    assert response.status_code == 404


def test_marking_a_done_task_done_again_says_so(as_role, users, db):
    task = _task(users["owner"], "Twice", done=True)
    first_done = _fresh(db, Task, task.id).done_at
    response = as_role("owner").submit(
        f"/tasks/{task.id}/done", token_from="/tasks", follow_redirects=True
    )
    assert "This task is already done." in response.get_data(as_text=True)
    assert _fresh(db, Task, task.id).done_at == first_done
    assert "task.done" not in db.session.scalars(sa.select(AuditEvent.action)).all()


def test_marking_done_needs_a_csrf_token_a_login_and_a_post(client, as_role, users, db):
    task = _task(users["owner"], "Guarded")
    owner = as_role("owner")
    assert owner.post(f"/tasks/{task.id}/done").status_code == 400
    assert owner.get(f"/tasks/{task.id}/done").status_code == 405
    anonymous = client.post(
        f"/tasks/{task.id}/done", data={"csrf_token": client.csrf_token("/login")}
    )
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
    assert client.get("/tasks").status_code == 302
    assert _fresh(db, Task, task.id).done_at is None


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
    assert 'Notifications <span class="nav-count">(2 unread)</span>' in html
    assert ">Executions</a>" in html and ">Tasks</a>" in html
    viewer_html = as_role("approver").get("/policies").get_data(as_text=True)
    assert "unread)" not in viewer_html


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
    assert "unread)" not in html
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
    assert response.status_code == 403
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
