"""The create_task step with the tasks page: group assignees, "wait until the task is done"
(marking the task done moves the execution on), and the designer's fields for both."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.jobs import run_step
from governance.engine.models import Execution, StepRun, Workflow, WorkflowVersion
from governance.errors import Conflict
from governance.extensions import huey
from governance.policies import service as policies
from governance.policies.models import Policy
from governance.tasks import service as tasks
from governance.tasks.models import Task
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import make_workflow, run_queued_steps, step

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _legal(users):
    return users["approver"].groups[0]


def _waiting_task_workflow(users, **config):
    settings = {
        "title": "Legal check of {{ policy.title }}",
        "assignee": "owner",
        "assignee_group_id": _legal(users).id,
        "wait_until_done": True,
        "due_days": 3,
    } | config
    return make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[
            [step("check", "create_task", settings)],
            [step("approve", "set_status", {"status": "approved"})],
        ],
    )


def _submitted_policy(users, title="Vendors") -> Policy:
    policy = factories.make_policy(users["owner"], title=title)
    policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    return policy


def _execution(db) -> Execution:
    db.session.expire_all()
    return db.session.scalars(sa.select(Execution).order_by(Execution.id.desc())).first()


def _step_run(db, key: str) -> StepRun:
    db.session.expire_all()
    return db.session.scalar(sa.select(StepRun).where(StepRun.step_key == key))


def _only_task(db) -> Task:
    db.session.expire_all()
    return db.session.scalars(sa.select(Task)).one()


def _queued_step_ids() -> set[int]:
    return {message.args[0] for message in huey.pending() if message.name == run_step.name}


def test_a_waiting_task_step_parks_the_execution_until_the_task_is_done(as_role, users, db):
    _waiting_task_workflow(users)
    policy = _submitted_policy(users)
    run_queued_steps()
    execution = _execution(db)
    assert execution.status == "waiting"
    assert _step_run(db, "check").status == "waiting"
    assert _step_run(db, "approve").status == "pending"
    task = _only_task(db)
    assert (task.title, task.assignee_id, task.assignee_group_id, task.blocks_step) == (
        "Legal check of Vendors",
        None,
        _legal(users).id,
        True,
    )
    page = as_role("approver").get("/tasks").get_data(as_text=True)
    assert "Legal check of Vendors" in page and "Workflow waits" in page
    huey.flush()

    response = as_role("approver").submit(
        f"/tasks/{task.id}/done", {"note": "Clauses fine."}, token_from="/tasks"
    )

    assert response.status_code == 303
    check = _step_run(db, "check")
    assert check.status == "succeeded"
    assert check.output == {
        "task_id": task.id,
        "done_by": users["approver"].id,
        "note": "Clauses fine.",
    }
    approve = _step_run(db, "approve")
    assert approve.status == "queued"
    assert _execution(db).status == "running"
    assert approve.id in _queued_step_ids()  # sent to the consumers after the commit
    run_queued_steps()
    assert _execution(db).status == "succeeded"
    assert db.session.get(Policy, policy.id).status == "approved"


def test_marking_a_waiting_task_done_in_place_also_moves_the_execution(as_role, users, db):
    _waiting_task_workflow(users, assignee_group_id=None, assignee="owner")
    _submitted_policy(users)
    run_queued_steps()
    task = _only_task(db)
    assert task.assignee_id == users["owner"].id
    client = as_role("owner")
    response = client.post(
        f"/tasks/{task.id}/done",
        data={"note": ""},
        headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token("/tasks")},
    )
    assert response.status_code == 200
    assert _step_run(db, "approve").status == "queued"
    run_queued_steps()
    assert _execution(db).status == "succeeded"


def test_two_members_marking_a_waiting_task_done_at_once_mark_it_once(app, users, db):
    legal = _legal(users)
    second = factories.make_user("approver", groups=[legal])
    _waiting_task_workflow(users)
    _submitted_policy(users)
    run_queued_steps()
    task_id = _only_task(db).id
    results: list[str] = []
    barrier = threading.Barrier(2)

    def mark_done(user_id: int) -> None:
        with app.app_context():
            from governance.auth.models import User
            from governance.extensions import db as thread_db

            user = thread_db.session.get(User, user_id)
            barrier.wait()
            try:
                tasks.complete_task(task_id, actor=user, note=f"by {user_id}")
                results.append("ok")
            except Conflict:
                results.append("already done")
            except Exception as error:  # SQLite may refuse the second writer outright
                thread_db.session.rollback()
                results.append(type(error).__name__)

    threads = [
        threading.Thread(target=mark_done, args=(user_id,))
        for user_id in (users["approver"].id, second.id)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1, results
    db.session.expire_all()
    assert db.session.scalars(sa.select(AuditEvent.action)).all().count("task.done") == 1
    done = _only_task(db)
    assert _step_run(db, "check").output["done_by"] == done.done_by_id
    assert _step_run(db, "approve").status == "queued"


def test_a_task_of_a_cancelled_execution_can_be_done_without_touching_the_execution(
    as_role, users, db
):
    _waiting_task_workflow(users)
    _submitted_policy(users)
    run_queued_steps()
    execution = _execution(db)
    with unit_of_work():
        operate.cancel_execution(execution.id, actor_id=users["admin"].id)
    cancelled = _execution(db)
    before = (cancelled.status, cancelled.finished_at, cancelled.error, cancelled.current_stage)
    steps_before = {run.step_key: run.status for run in cancelled.step_runs}
    huey.flush()

    response = as_role("approver").submit(
        f"/tasks/{_only_task(db).id}/done", token_from="/tasks", follow_redirects=True
    )

    assert "is done." in response.get_data(as_text=True)
    assert _only_task(db).done_at is not None
    after = _execution(db)
    assert (after.status, after.finished_at, after.error, after.current_stage) == before
    assert {run.step_key: run.status for run in after.step_runs} == steps_before
    assert _queued_step_ids() == set()


def test_a_task_of_a_finished_execution_can_be_done_without_touching_it(as_role, users, db):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read", "assignee": "owner"})]],
    )
    factories.make_policy(users["owner"])
    run_queued_steps()
    assert _execution(db).status == "succeeded"
    task = _only_task(db)
    assert task.blocks_step is False
    finished_at = _execution(db).finished_at
    response = as_role("owner").submit(f"/tasks/{task.id}/done", token_from="/tasks")
    assert response.status_code == 303
    assert (_execution(db).status, _execution(db).finished_at) == ("succeeded", finished_at)


def test_a_rerun_of_the_step_finds_its_task_instead_of_making_a_second(users, db):
    _waiting_task_workflow(users)
    _submitted_policy(users)
    run_queued_steps()
    first = _only_task(db)
    # As after a lost lease: the step is handed out and run once more.
    db.session.execute(
        sa.update(StepRun).where(StepRun.step_key == "check").values(status="queued")
    )
    db.session.commit()
    run_queued_steps()
    assert _only_task(db).id == first.id
    check = _step_run(db, "check")
    assert (check.status, check.attempt, check.output["task_id"]) == ("waiting", 2, first.id)


def test_definitions_from_before_groups_still_assign_a_user_and_do_not_wait(users, db):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [
                step(
                    "todo",
                    "create_task",
                    {"title": "Old style", "assignee": str(users["approver"].id), "due_days": 2},
                )
            ]
        ],
    )
    factories.make_policy(users["owner"])
    run_queued_steps()
    task = _only_task(db)
    assert (task.assignee_id, task.assignee_group_id, task.blocks_step) == (
        users["approver"].id,
        None,
        False,
    )
    assert _execution(db).status == "succeeded"


# ------------------------------------------------------------------ the designer


def _designer_form(**config) -> dict:
    form = {
        "name": "Legal check",
        "description": "",
        "trigger-type": "policy.status_changed",
        "trigger-from_status": "",
        "trigger-to_status": "in_review",
        "stage-0-present": "1",
        "stage-0-step-0-key": "check",
        "stage-0-step-0-type": "create_task",
        "stage-0-step-0-cfg-title": "Check {{ policy.title }}",
        "stage-0-step-0-cfg-assignee": "owner",
        "stage-0-step-0-cfg-due_days": "7",
        "stage-0-step-0-retry-attempts": "5",
        "stage-0-step-0-retry-backoff": "exponential",
        "stage-0-step-0-retry-base_seconds": "10",
        "op": "save",
    }
    op = config.pop("op", "save")
    fields = {f"stage-0-step-0-cfg-{name}": value for name, value in config.items()}
    return form | fields | {"op": op}


def _saved_config(db) -> dict:
    db.session.expire_all()
    version = db.session.scalars(sa.select(WorkflowVersion)).one()
    return version.definition["stages"][0]["steps"][0]["config"]


def test_the_designer_shows_the_group_and_wait_fields_for_a_task_step(as_role, users, db):
    html = (
        as_role("admin")
        .submit("/workflows/new", _designer_form(op="refresh"), headers={"HX-Request": "true"})
        .get_data(as_text=True)
    )
    legal = _legal(users)
    assert 'name="stage-0-step-0-cfg-assignee_group_id"' in html
    assert f'<option value="{legal.id}" >Legal</option>' in html
    assert 'type="checkbox" id="stage-0-step-0-cfg-wait_until_done"' in html
    assert "Wait until the task is done" in html


def test_the_designer_accepts_a_group_assignee_and_the_wait_checkbox(as_role, users, db):
    legal = _legal(users)
    admin = as_role("admin")
    response = admin.submit(
        "/workflows/new", _designer_form(assignee_group_id=str(legal.id), wait_until_done="1")
    )
    assert response.status_code == 302
    assert _saved_config(db) == {
        "title": "Check {{ policy.title }}",
        "assignee": "group",
        "assignee_group_id": legal.id,
        "due_days": 7,
        "wait_until_done": True,
    }
    # Editing it again shows what was saved.
    workflow = db.session.scalar(sa.select(Workflow))
    html = admin.get(f"/workflows/{workflow.id}/edit").get_data(as_text=True)
    assert f'<option value="{legal.id}" selected>Legal</option>' in html
    checkbox = 'name="stage-0-step-0-cfg-wait_until_done" value="1"'
    assert f"{checkbox} checked" in html


def test_the_wait_checkbox_is_off_unless_ticked(as_role, users, db):
    response = as_role("admin").submit("/workflows/new", _designer_form())
    assert response.status_code == 302
    config = _saved_config(db)
    assert (config["assignee"], config["assignee_group_id"], config["wait_until_done"]) == (
        "owner",
        None,
        False,
    )


def test_the_designer_refuses_an_unknown_group_with_a_clear_message(as_role, users, db):
    response = as_role("admin").submit("/workflows/new", _designer_form(assignee_group_id="9999"))
    assert response.status_code == 200
    assert "The chosen group does not exist; choose another one." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workflow)) == 0


def test_the_designer_refuses_a_user_and_a_group_at_once(as_role, users, db):
    response = as_role("admin").submit(
        "/workflows/new",
        _designer_form(assignee=str(users["owner"].id), assignee_group_id=str(_legal(users).id)),
    )
    assert "Choose either a user or a group, not both" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workflow)) == 0
