"""The workflow designer, through HTTP (the inbound webhook trigger: test_inbound_webhooks)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.engine.models import Execution, Workflow, WorkflowVersion
from tests import factories
from tests.factories import count_rows, make_workflow, step


def _form(**overrides) -> dict:
    base = {
        "name": "Review on submit",
        "description": "",
        "trigger-type": "policy.status_changed",
        "trigger-from_status": "",
        "trigger-to_status": "in_review",
        "stage-0-present": "1",
        "stage-0-step-0-key": "legal",
        "stage-0-step-0-type": "set_status",
        "stage-0-step-0-cfg-status": "approved",
        "stage-0-step-0-retry-attempts": "5",
        "stage-0-step-0-retry-backoff": "exponential",
        "stage-0-step-0-retry-base_seconds": "10",
        "op": "save",
    }
    return base | overrides


def test_admin_designs_saves_and_activates_a_workflow(as_role, users, db):
    admin = as_role("admin")
    response = admin.submit("/workflows/new", _form())
    assert response.status_code == 302
    workflow = db.session.scalar(sa.select(Workflow))
    assert (workflow.status, workflow.latest_version) == ("draft", 1)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "<svg" in page and "legal" in page
    activate = admin.submit(
        f"/workflows/{workflow.id}/activate",
        {"version": "1"},
        token_from=f"/workflows/{workflow.id}",
    )
    assert activate.status_code == 303
    db.session.expire_all()
    assert db.session.get(Workflow, workflow.id).status == "active"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stage-0-step-0-type": "approval"}, "An approval needs at least one assignee"),
        ({"stage-0-step-0-cfg-status": "bogus"}, "Choose the status to move the policy to."),
        ({"trigger-type": "schedule", "trigger-cron": "61 * * * *"}, "not a valid cron expression"),
        ({"trigger-to_status": "nowhere"}, "Unknown status"),
        ({"stage-0-step-0-key": "Bad Key"}, "A step key is lower-case letters"),
        (
            {
                "stage-0-step-1-key": "legal",
                "stage-0-step-1-type": "wait",
                "stage-0-step-1-cfg-minutes": "5",
            },
            "used twice",
        ),
        ({"stage-1-present": "1"}, "Stage 2 is empty"),
        (
            {"stage-0-step-0-type": "webhook", "stage-0-step-0-cfg-url": "http://127.0.0.1/x"},
            "",
        ),
        ({"name": ""}, "Give the workflow a name."),
        (
            {"cond-0-field": "policy.secret", "cond-0-op": "equals", "cond-0-value": "x"},
            "Unknown field",
        ),
    ],
)
def test_bad_designs_are_answered_and_nothing_is_saved(as_role, users, db, overrides, message):
    response = as_role("admin").submit("/workflows/new", _form(**overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "problem" in page or "Give the workflow a name." in page
    assert message in page
    assert count_rows(db, Workflow) == 0
    assert count_rows(db, WorkflowVersion) == 0


def test_designer_buttons_edit_the_draft_in_place_without_saving(as_role, users, db):
    admin = as_role("admin")
    page = admin.submit("/workflows/new", _form(op="add_stage"), headers={"HX-Request": "true"})
    html = page.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="workflow-editor">')
    assert 'name="stage-1-step-0-key"' in html
    assert count_rows(db, Workflow) == 0
    moved = admin.submit("/workflows/new", _form(op="remove_step:0:0"))
    assert 'name="stage-0-step-0-key"' not in moved.get_data(as_text=True)


def test_saving_again_makes_a_new_version_and_running_executions_keep_theirs(as_role, users, db):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "One", "assignee": "owner"})]],
    )
    factories.make_policy(users["owner"])
    first = db.session.scalar(sa.select(Execution))
    response = as_role("admin").submit(
        f"/workflows/{workflow.id}/edit",
        _form(**{"trigger-type": "policy.created", "stage-0-step-0-key": "other"}),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Workflow, workflow.id).latest_version == 2
    assert db.session.get(Execution, first.id).version.number == 1


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_design_workflows(as_role, users, db, role):
    client = as_role(role)
    assert client.get("/workflows").status_code == 403
    assert client.get("/workflows/new").status_code == 403
    token = client.csrf_token()
    assert client.post("/workflows/new", data=_form(csrf_token=token)).status_code == 403
    assert count_rows(db, Workflow) == 0


def test_workflow_list_shows_status_trigger_and_success_rate(as_role, users, db):
    make_workflow(
        users["admin"],
        name="Tasker",
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "One", "assignee": "owner"})]],
    )
    factories.make_policy(users["owner"])
    factories.run_queued_steps()
    page = as_role("admin").get("/workflows").get_data(as_text=True)
    assert "Tasker" in page and "Active" in page and "Policy created" in page
    assert "100%" in page


def test_dry_run_previews_without_effects(as_role, users, db):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("note", "notify", {"to_owner": True, "subject": "About {{ policy.title }}"})]
        ],
    )
    policy = factories.make_policy(users["owner"], title="Travel")
    executions = count_rows(db, Execution)
    page = as_role("admin").get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")
    html = page.get_data(as_text=True)
    assert "About Travel" in html
    # The preview reads as a key/value table, its JSON behind a toggle.
    assert '<table class="data-table" aria-label="Output of note">' in html
    assert '<th scope="row">subject</th><td><span class="data-text">About Travel</span>' in html
    assert "<summary>Raw JSON" in html
    assert count_rows(db, Execution) == executions


def test_a_deactivated_workflow_starts_nothing_and_says_so_when_deactivated_again(
    as_role, users, db
):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "One", "assignee": "owner"})]],
    )
    admin = as_role("admin")
    page = f"/workflows/{workflow.id}"
    assert admin.submit(f"{page}/deactivate", {}, token_from=page).status_code == 303
    factories.make_policy(users["owner"])
    assert count_rows(db, Execution) == 0
    again = admin.submit(f"{page}/deactivate", {}, token_from=page, follow_redirects=True)
    assert "This workflow is not active." in again.get_data(as_text=True)
    assert admin.post(f"{page}/deactivate").status_code == 400  # no CSRF token
