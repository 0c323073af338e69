"""The tasks page through HTTP: my and my groups' lists, overdue labels, links to the policy
and execution, marking done with a note (plain form and htmx), who may, and what it costs."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.extensions import db as _db
from governance.tasks.models import Task
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_workflow, run_queued_steps, step

HTMX = {"HX-Request": "true"}


def _task(
    user=None, title="A task", due_in_days=None, policy=None, done=False, group=None, done_by=None
) -> Task:
    today = utcnow().date()
    task = Task(
        title=title,
        assignee_id=user.id if user else None,
        assignee_group_id=group.id if group else None,
        due_on=today + timedelta(days=due_in_days) if due_in_days is not None else None,
        policy_id=policy.id if policy else None,
        done_at=utcnow() if done else None,
        done_by_id=(done_by or user).id if done and (done_by or user) else None,
        done_note="Noted." if done else None,
    )
    _db.session.add(task)
    _db.session.commit()
    return task


def _fresh(db, task_id) -> Task:
    db.session.expire_all()
    return db.session.get(Task, task_id)


def _legal(users):
    return users["approver"].groups[0]


# ------------------------------------------------------------------ the lists


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
    positions = [html.index(f'<td class="task-title">{title}') for title in order]
    assert positions == sorted(positions)
    assert "Not mine" not in html and "Finished" not in html
    assert f'<a href="/policies/{policy.id}">Travel Policy</a>' in html
    assert "4 open tasks" in html
    assert 'id="task-count-open">4</span>' in html and 'id="task-count-done">1</span>' in html


def test_an_overdue_task_says_by_how_much_not_only_in_colour(as_role, users, db):
    late = _task(users["owner"], "Late", due_in_days=-2)
    on_time = _task(users["owner"], "On time", due_in_days=3)
    html = as_role("owner").get("/tasks").get_data(as_text=True)
    assert f'<tr id="task-row-{late.id}" class="task overdue">' in html
    assert "overdue by 2 d" in html
    assert f'<tr id="task-row-{on_time.id}" class="task">' in html
    assert html.count("overdue by") == 1


def test_group_tasks_reach_the_groups_members_and_no_one_else(as_role, users, db):
    task = _task(title="Legal review", group=_legal(users), due_in_days=5)
    member = as_role("approver").get("/tasks").get_data(as_text=True)
    assert "Legal review" in member and "Group: Legal" in member
    assert f'id="task-row-{task.id}"' in member
    for outsider in ("security", "owner", "admin"):
        assert "Legal review" not in as_role(outsider).get("/tasks").get_data(as_text=True)


def test_done_tab_shows_who_did_it_when_and_the_note(as_role, users, db):
    task = _task(title="Check <b>links</b>", group=_legal(users))
    _task(users["approver"], "Still open", due_in_days=3)
    as_role("approver").submit(
        f"/tasks/{task.id}/done", {"note": "Done: <script>x</script>"}, token_from="/tasks"
    )
    html = as_role("approver").get("/tasks?tab=done").get_data(as_text=True)
    assert "Check &lt;b&gt;links&lt;/b&gt;" in html and "Still open" not in html
    assert "Done: &lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert users["approver"].name in html
    assert f'<time datetime="{_fresh(db, task.id).done_at.isoformat()}"' in html
    assert "Mark done" not in html
    assert "1 done task, latest first" in html
    # An unknown tab is the open list.
    assert "Still open" in as_role("approver").get("/tasks?tab=bogus").get_data(as_text=True)


def test_a_task_from_a_workflow_links_to_its_policy_and_execution(as_role, users, db):
    workflow = factories.make_task_workflow(
        users["admin"], trigger={"type": "policy.created"}, name="Intake"
    )
    policy = factories.make_policy(users["owner"], title="Vendors")
    run_queued_steps()
    task = db.session.scalar(sa.select(Task))
    html = as_role("owner").get("/tasks").get_data(as_text=True)
    assert "Check Vendors" in html
    assert f'<a href="/policies/{policy.id}">Vendors</a>' in html
    execution_id = task.step_run.execution_id
    assert (
        f'href="/executions/{execution_id}">{workflow.name}, execution {execution_id}</a>' in html
    )


def test_the_page_costs_the_same_queries_however_many_tasks(as_role, users, db, count_statements):
    owner, legal = users["owner"], _legal(users)
    owner.groups.append(legal)
    db.session.commit()
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read", "assignee": "owner"})]],
    )

    def add_tasks(n: int) -> None:
        # Of every kind a row can show: from a workflow (policy and execution), for a group,
        # overdue, and done by someone with a note.
        for number in range(n):
            factories.make_policy(owner)
            _task(title=f"Group {number}", group=legal, due_in_days=-1)
            _task(title=f"Finished {number}", group=legal, done=True, done_by=users["approver"])
        run_queued_steps()

    client = as_role("owner")

    def cost() -> dict[str, int]:
        costs = {}
        for tab in ("open", "done"):
            with count_statements() as counter:
                assert client.get(f"/tasks?tab={tab}").status_code == 200
            costs[tab] = counter.count
        return costs

    add_tasks(1)
    client.get("/tasks")  # warm up: the first request of a session may load more
    few = cost()
    add_tasks(15)
    many = cost()
    html = client.get("/tasks?tab=done").get_data(as_text=True)
    assert "16 done tasks" in html
    assert "32 open tasks" in client.get("/tasks").get_data(as_text=True)
    assert few == many


# ------------------------------------------------------------------ marking done (plain form)


def test_assignee_marks_a_task_done_with_a_note(as_role, users, db):
    task = _task(users["owner"], "Read the policy", due_in_days=1)
    response = as_role("owner").submit(
        f"/tasks/{task.id}/done",
        {"note": "  Read and agreed.  "},
        token_from="/tasks",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "“Read the policy” is done." in html
    done = _fresh(db, task.id)
    assert done.done_at is not None
    assert (done.done_by_id, done.done_note) == (users["owner"].id, "Read and agreed.")
    assert f'id="task-row-{task.id}"' not in html  # gone from the open list
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "task.done"))
    assert [(e.actor_id, e.object_id) for e in events] == [(users["owner"].id, task.id)]


def test_the_note_is_optional(as_role, users, db):
    task = _task(users["owner"], "No words needed")
    response = as_role("owner").submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 303
    assert _fresh(db, task.id).done_note is None


def test_any_member_of_the_group_may_mark_a_group_task_done(as_role, users, db):
    task = _task(title="Legal sign-off", group=_legal(users))
    response = as_role("approver").submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 303
    assert _fresh(db, task.id).done_by_id == users["approver"].id


def test_admin_may_mark_someone_elses_task_done(as_role, users, db):
    task = _task(users["owner"], "Sign off")
    response = as_role("admin").submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 303
    assert _fresh(db, task.id).done_by_id == users["admin"].id


@pytest.mark.parametrize("role", ["other_owner", "approver", "viewer"])
def test_others_cannot_mark_a_task_done(as_role, users, db, role):
    task = _task(users["owner"], "Mine only")
    response = as_role(role).submit(f"/tasks/{task.id}/done", token_from="/tasks")
    # Someone else's task is answered as if there were none: 404, not a 403 that says it exists.
    assert response.status_code == 404
    assert "Mine only" not in response.get_data(as_text=True)
    assert _fresh(db, task.id).done_at is None


def test_a_non_member_cannot_mark_a_group_task_done(as_role, users, db):
    task = _task(title="Legal only", group=_legal(users))
    response = as_role("security").submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 404
    assert _fresh(db, task.id).done_at is None


def test_marking_an_unknown_task_done_is_not_found(as_role, users, db):
    response = as_role("owner").submit("/tasks/99999/done", token_from="/tasks")
    assert response.status_code == 404


def test_marking_a_done_task_done_again_says_so_and_changes_nothing(as_role, users, db):
    task = _task(users["owner"], "Twice")
    client = as_role("owner")
    client.submit(f"/tasks/{task.id}/done", {"note": "first"}, token_from="/tasks")
    first = _fresh(db, task.id)
    first_done, first_note = first.done_at, first.done_note
    response = client.submit(
        f"/tasks/{task.id}/done", {"note": "second"}, token_from="/tasks", follow_redirects=True
    )
    assert "This task is already done." in response.get_data(as_text=True)
    again = _fresh(db, task.id)
    assert (again.done_at, again.done_note) == (first_done, first_note)
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("task.done") == 1


def test_a_note_over_2000_characters_is_refused_with_a_clear_message(as_role, users, db):
    task = _task(users["owner"], "Wordy")
    response = as_role("owner").submit(
        f"/tasks/{task.id}/done", {"note": "x" * 2001}, token_from="/tasks"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The note must be at most 2,000 characters (it has 2,001)." in html
    assert f'id="task-{task.id}-note-error"' in html  # under the row's note
    assert "x" * 2001 in html  # what was typed is kept
    assert _fresh(db, task.id).done_at is None
    assert "task.done" not in db.session.scalars(sa.select(AuditEvent.action)).all()
    exactly = as_role("owner").submit(
        f"/tasks/{task.id}/done", {"note": "y" * 2000}, token_from="/tasks"
    )
    assert exactly.status_code == 303
    assert _fresh(db, task.id).done_note == "y" * 2000


def test_marking_done_needs_a_csrf_token_a_login_and_a_post(client, as_role, users, db):
    task = _task(users["owner"], "Guarded")
    owner = as_role("owner")
    assert owner.post(f"/tasks/{task.id}/done").status_code == 400
    assert owner.post(f"/tasks/{task.id}/done", data={"csrf_token": "forged"}).status_code == 400
    assert owner.post(f"/tasks/{task.id}/done", headers=HTMX).status_code == 400
    assert owner.get(f"/tasks/{task.id}/done").status_code == 405
    anonymous = client.post(
        f"/tasks/{task.id}/done", data={"csrf_token": client.csrf_token("/login")}
    )
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
    assert client.get("/tasks").status_code == 302
    assert _fresh(db, task.id).done_at is None


# ------------------------------------------------------------------ marking done with htmx


def _htmx_done(client, task_id: int, note: str = ""):
    """What htmx sends: the form fields, plus the CSRF token in the X-CSRFToken header."""
    token = client.csrf_token("/tasks")
    return client.post(
        f"/tasks/{task_id}/done",
        data={"note": note},
        headers=HTMX | {"X-CSRFToken": token},
    )


def test_the_open_tasks_page_posts_mark_done_in_place_and_works_without_javascript(
    as_role, users, db
):
    task = _task(users["owner"], "Forms")
    html = as_role("owner").get("/tasks").get_data(as_text=True)
    assert f'<form method="post" action="/tasks/{task.id}/done"' in html
    assert f'hx-post="/tasks/{task.id}/done" hx-target="#task-row-{task.id}"' in html
    assert 'hx-swap="outerHTML"' in html and 'name="csrf_token"' in html


def test_htmx_mark_done_removes_the_row_and_updates_the_counts_out_of_band(as_role, users, db):
    task = _task(users["owner"], "In place")
    _task(users["owner"], "Another", due_in_days=2)
    _task(users["owner"], "Old", done=True)
    response = _htmx_done(as_role("owner"), task.id, "Via htmx")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    assert f'id="task-row-{task.id}"' not in html  # the row is replaced by nothing
    assert '<span class="tab-count" id="task-count-open" hx-swap-oob="true">1</span>' in html
    assert '<span class="tab-count" id="task-count-done" hx-swap-oob="true">2</span>' in html
    assert 'id="task-list-count" hx-swap-oob="true">1 open task, by due date' in html
    assert 'id="task-announcement" hx-swap-oob="innerHTML"' in html
    assert "“In place” is done." in html
    assert "<html" not in html  # a fragment, not a page
    assert _fresh(db, task.id).done_note == "Via htmx"
    # Nothing was flashed for the next page: the answer itself said it.
    assert "is done." not in as_role("owner").get("/tasks").get_data(as_text=True)


def test_htmx_mark_done_of_a_task_already_done_says_so_and_removes_the_row(as_role, users, db):
    task = _task(users["owner"], "Raced", done=True)
    response = _htmx_done(as_role("owner"), task.id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This task is already done." in html
    assert 'id="task-count-open" hx-swap-oob="true">0</span>' in html


def test_htmx_mark_done_with_a_too_long_note_returns_the_row_with_the_message(as_role, users, db):
    task = _task(users["owner"], "Long note")
    response = _htmx_done(as_role("owner"), task.id, "z" * 2500)
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # htmx swaps 2xx: the row comes back with the error
    assert html.lstrip().startswith(f'<tr id="task-row-{task.id}"')
    assert "The note must be at most 2,000 characters (it has 2,500)." in html
    assert 'aria-invalid="true"' in html
    assert _fresh(db, task.id).done_at is None


def test_htmx_mark_done_refused_keeps_its_status_and_explains_in_the_row(as_role, users, db):
    task = _task(users["owner"], "Not yours")
    response = _htmx_done(as_role("viewer"), task.id)
    # Someone else's task and no task at all get the same answer.
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert f'<tr id="task-row-{task.id}" class="task refused">' in html
    assert "No such task." in html
    missing = _htmx_done(as_role("viewer"), 99999)
    assert missing.status_code == 404 and "No such task." in missing.get_data(as_text=True)
    assert _fresh(db, task.id).done_at is None
