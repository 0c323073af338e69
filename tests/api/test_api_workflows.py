"""/api/v1/workflows through HTTP with bearer tokens: admins only, the designer's validation,
versions, activation, deletion and manual runs, with the database unchanged after a refusal."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine.models import Execution, StepRun, Workflow, WorkflowVersion
from governance.notifications.models import Notification
from tests import factories
from tests.factories import count_rows, make_workflow, run_queued_steps, step

MANUAL = {"type": "manual"}


def _state(db) -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.expire_all()
    workflows = db.session.execute(
        sa.select(
            Workflow.id,
            Workflow.name,
            Workflow.description,
            Workflow.status,
            Workflow.latest_version,
            Workflow.active_version_id,
        ).order_by(Workflow.id)
    ).all()
    events = count_rows(db, AuditEvent, AuditEvent.object_type.in_(("workflow", "execution")))
    return (
        workflows,
        count_rows(db, WorkflowVersion),
        count_rows(db, Execution),
        count_rows(db, StepRun),
        count_rows(db, ApprovalRequest),
        events,
    )


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json["error"]


def _details(response) -> dict[str, dict]:
    return {detail["field"]: detail for detail in response.json["error"]["details"]}


def _body(
    name: str = "Publish on request", description: str = "Started from CI", **definition
) -> dict:
    """A valid create body: a manual workflow that notifies the owner with the input's reason.

    `definition` replaces parts of the definition (trigger, conditions, stages)."""
    notify = step(
        "tell",
        "notify",
        {"to_owner": True, "subject": "Run: {{ trigger.reason }}", "body": "{{ policy.title }}"},
    )
    return copy.deepcopy(
        {
            "name": name,
            "description": description,
            "definition": {"trigger": MANUAL, "conditions": [], "stages": [{"steps": [notify]}]}
            | definition,
        }
    )


def _manual_workflow(users, **kwargs) -> Workflow:
    stages = kwargs.pop("stages", None) or [
        [step("tell", "notify", {"to_owner": True, "subject": "Run: {{ trigger.reason }}"})]
    ]
    return make_workflow(users["admin"], trigger=MANUAL, stages=stages, **kwargs)


# ------------------------------------------------------------------ who may


def test_only_admins_may_use_the_workflow_api(api_as, users, db):
    workflow = _manual_workflow(users)
    before = _state(db)
    calls = [
        ("GET", "workflows", None),
        ("GET", f"workflows/{workflow.id}", None),
        ("POST", "workflows", _body()),
        ("PUT", f"workflows/{workflow.id}", _body("Renamed") | {"version": 1}),
        ("POST", f"workflows/{workflow.id}/activate", None),
        ("POST", f"workflows/{workflow.id}/deactivate", None),
        ("DELETE", f"workflows/{workflow.id}", None),
        ("POST", f"workflows/{workflow.id}/trigger", {"input": {}}),
    ]
    for role in ("owner", "approver", "viewer"):
        client = api_as(role)
        for method, path, body in calls:
            response = client.request(method, path, json=body)
            assert _error(response, 403)["code"] == "forbidden", (role, method, path)
    anonymous = api_as(None)
    for method, path, body in calls:
        response = anonymous.request(method, path, json=body)
        assert _error(response, 401)["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _state(db) == before


def test_an_unknown_workflow_is_404_everywhere(api_as, users, db):
    admin = api_as("admin")
    before = _state(db)
    for workflow_id in (4242, 2**31, 99999999999999999999999):
        for method, path, body in [
            ("GET", f"workflows/{workflow_id}", None),
            ("PUT", f"workflows/{workflow_id}", _body() | {"version": 1}),
            ("POST", f"workflows/{workflow_id}/activate", None),
            ("POST", f"workflows/{workflow_id}/deactivate", None),
            ("DELETE", f"workflows/{workflow_id}", None),
            ("POST", f"workflows/{workflow_id}/trigger", {}),
        ]:
            response = admin.request(method, path, json=body)
            assert _error(response, 404)["code"] == "not_found", (method, path)
    assert _state(db) == before


# ------------------------------------------------------------------ list and read


def test_list_pages_through_every_workflow_newest_first_and_filters(api_as, users, db):
    manual = [_manual_workflow(users).id for _ in range(4)]
    drafts = [_manual_workflow(users, activate=False).id for _ in range(2)]
    created = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )
    client = api_as("admin")
    seen, url = [], "workflows?limit=3"
    while url:
        page = client.get(url).json
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        url = f"workflows?limit=3&cursor={page['next_cursor']}" if page["next_cursor"] else None
    assert seen == sorted([*manual, *drafts, created.id], reverse=True)

    def ids(query: str) -> list[int]:
        response = client.get(f"workflows?{query}")
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids("status=draft") == drafts[::-1]
    assert ids("trigger_type=policy.created") == [created.id]
    assert ids("status=active&trigger_type=manual") == manual[::-1]
    item = client.get("workflows?limit=1").json["items"][0]
    assert item["id"] == created.id
    assert (item["status"], item["trigger_type"]) == ("active", "policy.created")
    assert (item["active_version_number"], item["version"]) == (1, 1)
    assert "active_version" not in item
    assert "definition" not in item


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=paused", "status"),
        ("trigger_type=cron", "trigger_type"),
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
    ],
)
def test_bad_list_parameters_are_422_naming_them(api_as, users, db, query, field):
    response = api_as("admin").get(f"workflows?{query}")
    _error(response, 422)
    assert set(_details(response)) == {field}


def test_get_shows_the_active_version_with_its_stages_and_steps(api_as, users, db):
    legal = users["approver"].groups[0]
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        conditions=[{"field": "policy.category", "op": "equals", "value": "Security"}],
        stages=[
            [
                step("legal", "approval", {"groups": [legal.id], "due_hours": "24"}),
                step("sec", "approval", {"users": [users["security"].id]}),
            ],
            [step("publish", "set_status", {"status": "published"}, retry={"attempts": 2})],
        ],
    )
    response = api_as("admin").get(f"workflows/{workflow.id}")
    assert response.status_code == 200
    data = response.json
    assert (data["status"], data["active_version_number"]) == ("active", 1)
    assert data["version"] == 1
    assert data["active_version"]["definition"] == data["definition"]
    definition = data["definition"]
    assert definition["trigger"]["type"] == "policy.status_changed"
    assert definition["trigger"]["to_status"] == "in_review"
    assert definition["trigger"]["summary"] == "Policy status changed: any → in review"
    assert definition["conditions"] == [
        {"field": "policy.category", "op": "equals", "value": "Security"}
    ]
    assert [[s["key"] for s in stage["steps"]] for stage in definition["stages"]] == [
        ["legal", "sec"],
        ["publish"],
    ]
    legal_step = definition["stages"][0]["steps"][0]
    assert legal_step["type"] == "approval"
    assert legal_step["config"]["groups"] == [legal.id]
    assert legal_step["config"]["due_hours"] == 24
    assert legal_step["retry"] == {"attempts": 5, "backoff": "exponential", "base_seconds": 10}
    assert definition["stages"][1]["steps"][0]["retry"]["attempts"] == 2


# ------------------------------------------------------------------ create


def test_an_admin_creates_a_draft_workflow_and_is_told_where_it_is(api_as, users, db):
    client = api_as("admin")
    response = client.post("workflows", json=_body())
    assert response.status_code == 201, response.json
    data = response.json
    assert response.headers["Location"] == f"/api/v1/workflows/{data['id']}"
    assert client.get(response.headers["Location"]).json == data
    assert (data["name"], data["description"]) == ("Publish on request", "Started from CI")
    assert (data["status"], data["active_version_number"], data["active_version"]) == (
        "draft",
        None,
        None,
    )
    assert data["version"] == 1
    saved = data["definition"]["stages"][0]["steps"][0]
    # Cleaned as the designer saves it: every config field, the default retry.
    assert saved["config"] == {
        "users": [],
        "groups": [],
        "to_owner": True,
        "subject": "Run: {{ trigger.reason }}",
        "body": "{{ policy.title }}",
    }
    assert saved["retry"] == {"attempts": 5, "backoff": "exponential", "base_seconds": 10}
    version = db.session.scalar(sa.select(WorkflowVersion))
    assert version.definition["stages"][0]["steps"][0]["config"] == saved["config"]
    assert count_rows(db, AuditEvent, AuditEvent.action == "workflow.saved") == 1


def test_a_definition_with_every_step_type_and_typed_config_is_saved(api_as, users, db):
    legal = users["approver"].groups[0]
    definition = {
        "trigger": {"type": "schedule", "cron": "0 9 * * 1"},
        "conditions": [{"field": "trigger.reason", "op": "changed"}],
        "stages": [
            {
                "steps": [
                    step(
                        "decide",
                        "approval",
                        {
                            "users": [users["approver"].id],
                            "groups": [legal.id],
                            "rule": "quorum",
                            "quorum": 2,
                            "due_hours": 12.5,
                            "escalate_user_id": users["admin"].id,
                            "decide_by_count": True,
                        },
                        retry={"attempts": 3, "backoff": "fixed", "base_seconds": 1.5},
                    ),
                    step("todo", "create_task", {"title": "Check", "assignee": users["owner"].id}),
                    step("team", "create_task", {"title": "All", "assignee_group_id": legal.id}),
                ]
            },
            {
                "steps": [
                    step("pause", "wait", {"minutes": 5}),
                    step("hand", "assign", {"role": "owner", "user_id": users["owner"].id}),
                    step(
                        "done",
                        "set_status",
                        {"status": "published"},
                        when={
                            "field": "steps.decide.output.decision",
                            "op": "equals",
                            "value": "x",
                        },
                    ),
                ]
            },
        ],
    }
    response = api_as("admin").post("workflows", json=_body(**definition))
    assert response.status_code == 201, response.json
    saved = response.json["definition"]
    assert saved["trigger"]["cron"] == "0 9 * * 1"
    decide, todo, team = saved["stages"][0]["steps"]
    assert decide["config"]["rule"] == "quorum"
    assert decide["config"]["quorum"] == 2
    assert decide["config"]["escalate_user_id"] == users["admin"].id
    assert decide["retry"] == {"attempts": 3, "backoff": "fixed", "base_seconds": 1.5}
    assert todo["config"]["assignee"] == str(users["owner"].id)
    assert (team["config"]["assignee"], team["config"]["assignee_group_id"]) == ("group", legal.id)
    assert saved["stages"][1]["steps"][2]["when"]["field"] == "steps.decide.output.decision"


def test_every_problem_of_a_design_is_listed_at_once_and_nothing_is_saved(api_as, users, db):
    _manual_workflow(users, name="Taken")
    before = _state(db)
    body = {
        "name": "taken",
        "definition": {
            "trigger": {"type": "policy.status_changed", "to_status": "nowhere"},
            "conditions": [{"field": "policy.secret", "op": "like", "value": "x"}],
            "stages": [
                {
                    "steps": [
                        step("Bad Key", "approval", {"users": [4242], "rule": "most"}),
                        step("twice", "set_status", {"status": "gone"}),
                        step("twice", "teleport"),
                        step("waits", "wait", {"minutes": 5}, retry={"backoff": "linear"}),
                    ]
                },
                {"steps": []},
            ],
        },
    }
    response = api_as("admin").post("workflows", json=body)
    error = _error(response, 422)
    assert error["code"] == "validation_failed"
    details = _details(response)
    assert set(details) == {
        "name",
        "definition.trigger.to_status",
        "definition.conditions.0.field",
        "definition.conditions.0.op",
        "definition.stages.0.steps.0.key",
        "definition.stages.0.steps.0.config.users",
        "definition.stages.0.steps.0.config.rule",
        "definition.stages.0.steps.1.config.status",
        "definition.stages.0.steps.2.key",
        "definition.stages.0.steps.2.type",
        "definition.stages.0.steps.3.retry.backoff",
        "definition.stages.1",
    }
    assert details["name"]["message"] == "A workflow with this name already exists."
    assert "used twice" in details["definition.stages.0.steps.2.key"]["message"]
    assert details["definition.conditions.0.op"]["allowed"] == [
        "equals",
        "not_equals",
        "in",
        "contains",
        "changed",
    ]
    assert details["definition.stages.0.steps.0.config.rule"]["allowed"] == [
        "any",
        "all",
        "quorum",
    ]
    assert "approval" in details["definition.stages.0.steps.2.type"]["allowed"]
    assert details["definition.stages.0.steps.3.retry.backoff"]["allowed"] == [
        "exponential",
        "fixed",
    ]
    assert "allowed" not in details["definition.stages.0.steps.0.key"]
    assert _state(db) == before


# The designer's own refusals (tests/web/test_workflows.py), sent as JSON: the same messages.
DESIGNER_REFUSALS = [
    ({"type": "approval", "config": {}}, {}, "An approval needs at least one assignee"),
    ({"config": {"status": "bogus"}}, {}, "Choose the status to move the policy to."),
    ({}, {"trigger": {"type": "schedule", "cron": "61 * * * *"}}, "not a valid cron expression"),
    ({}, {"trigger": {"type": "policy.status_changed", "to_status": "x"}}, "Unknown status"),
    ({"key": "Bad Key"}, {}, "A step key is lower-case letters"),
    ({"type": "webhook", "config": {"url": "http://127.0.0.1/x"}}, {}, "public addresses"),
    ({}, {"conditions": [{"field": "policy.secret", "op": "equals"}]}, "Unknown field"),
    ({}, {"stages": []}, "Add at least one stage with a step."),
    ({"retry": {"attempts": 21}}, {}, "Attempts must be between 1 and 20."),
]


@pytest.mark.parametrize(("step_changes", "definition_changes", "message"), DESIGNER_REFUSALS)
def test_the_api_refuses_what_the_designer_refuses(
    api_as, users, db, step_changes, definition_changes, message
):
    definition = {
        "trigger": {"type": "manual"},
        "stages": [{"steps": [step("legal", "set_status", {"status": "approved"}) | step_changes]}],
    } | definition_changes
    before = _state(db)
    response = api_as("admin").post("workflows", json={"name": "Review", "definition": definition})
    _error(response, 422)
    messages = [detail["message"] for detail in response.json["error"]["details"]]
    assert any(message in text for text in messages), messages
    assert _state(db) == before


def test_fields_of_the_wrong_type_or_unknown_are_422_naming_each(api_as, users, db):
    client = api_as("admin")
    before = _state(db)
    body = _body(colour="red")
    body["owner"] = 3
    body["definition"]["trigger"]["when"] = "now"
    body["definition"]["stages"].append(
        {
            "steps": [
                step("ask", "approval", {"users": ["x"], "quorum": "two", "bogus": 1}),
                step("todo", "create_task", {"assignee": "someone", "due_days": [1]}),
                {"key": 7, "type": "wait", "config": {"minutes": 1}, "retry": {"attempts": "x"}},
            ]
        }
    )
    response = client.post("workflows", json=body)
    _error(response, 422)
    assert set(_details(response)) == {
        "owner",
        "definition.colour",
        "definition.trigger.when",
        "definition.stages.1.steps.0.config.users.0",
        "definition.stages.1.steps.0.config.quorum",
        "definition.stages.1.steps.0.config.bogus",
        "definition.stages.1.steps.1.config.assignee",
        "definition.stages.1.steps.1.config.due_days",
        "definition.stages.1.steps.2.key",
        "definition.stages.1.steps.2.retry.attempts",
    }
    assert (
        _details(response)["definition.colour"]["message"] == "Unknown field “definition.colour”."
    )
    response = client.post("workflows", json={"name": "No definition"})
    assert set(_details(response)) == {"definition"}
    response = client.post("workflows", json={"name": "x" * 121, "definition": {"trigger": {}}})
    assert set(_details(response)) == {
        "name",
        "definition.trigger.type",
        "definition.stages",
    }
    assert _state(db) == before


def test_ids_beyond_the_id_columns_and_nul_characters_are_422_not_a_server_error(api_as, users, db):
    before = _state(db)
    body = _body("Nul\x00name")
    body["definition"]["stages"][0]["steps"][0]["config"]["users"] = [2**31]
    body["definition"]["stages"][0]["steps"][0]["config"]["subject"] = "\x00"
    response = api_as("admin").post("workflows", json=body)
    _error(response, 422)
    assert set(_details(response)) == {
        "name",
        "definition.stages.0.steps.0.config.users.0",
        "definition.stages.0.steps.0.config.subject",
    }
    assert _state(db) == before


@pytest.mark.parametrize("raw", ['{"name": "A", "definition": {', "definition=1", "[1,"])
def test_malformed_json_is_400_and_writes_nothing(api_as, users, db, raw):
    workflow = _manual_workflow(users)
    client = api_as("admin")
    before = _state(db)
    for method, path in (
        ("POST", "workflows"),
        ("PUT", f"workflows/{workflow.id}"),
        ("POST", f"workflows/{workflow.id}/trigger"),
    ):
        response = client.request(method, path, data=raw, content_type="application/json")
        assert _error(response, 400)["code"] == "malformed_json"
    assert _state(db) == before


def test_a_missing_body_is_422(api_as, users, db):
    workflow = _manual_workflow(users)
    client = api_as("admin")
    before = _state(db)
    for path in ("workflows", f"workflows/{workflow.id}/trigger"):
        assert _error(client.post(path), 422)["message"] == "Send a JSON object."
    assert _state(db) == before


# ------------------------------------------------------------------ update


def test_put_saves_a_new_version_and_running_executions_keep_theirs(api_as, users, db):
    workflow = _manual_workflow(users, name="Notify")
    client = api_as("admin")
    started = client.post(f"workflows/{workflow.id}/trigger", json={}).json["execution_id"]
    body = _body("Notify the owner", description="Second take") | {"version": 1}
    body["definition"]["stages"].append({"steps": [step("later", "wait", {"minutes": 1})]})
    response = client.request("PUT", f"workflows/{workflow.id}", json=body)
    assert response.status_code == 200, response.json
    data = response.json
    assert (data["name"], data["description"]) == ("Notify the owner", "Second take")
    assert (data["version"], data["active_version_number"]) == (2, 1)
    assert len(data["definition"]["stages"]) == 2
    assert len(data["active_version"]["definition"]["stages"]) == 1
    assert db.session.get(Execution, started).version.number == 1

    activated = client.post(f"workflows/{workflow.id}/activate")
    assert activated.json["active_version_number"] == 2
    second = client.post(f"workflows/{workflow.id}/trigger", json={}).json["execution_id"]
    db.session.expire_all()
    assert db.session.get(Execution, second).version.number == 2
    assert db.session.get(Execution, started).version.number == 1


def test_put_with_a_stale_version_is_409_and_the_newer_version_stays(api_as, users, db):
    workflow = _manual_workflow(users, name="Notify")
    client = api_as("admin")
    first = client.request("PUT", f"workflows/{workflow.id}", json=_body("One") | {"version": 1})
    assert first.status_code == 200, first.json
    before = _state(db)
    response = client.request("PUT", f"workflows/{workflow.id}", json=_body("Two") | {"version": 1})
    error = _error(response, 409)
    assert error["code"] == "conflict"
    assert "version 2 now" in error["message"]
    assert _state(db) == before
    assert db.session.get(Workflow, workflow.id).name == "One"


def test_put_refuses_a_bad_design_listing_every_problem_and_keeps_the_workflow(api_as, users, db):
    workflow = _manual_workflow(users, name="Notify")
    other = _manual_workflow(users, name="Other")
    before = _state(db)
    body = _body(other.name) | {"version": 1}
    body["definition"]["stages"][0]["steps"][0]["key"] = "9lives"
    response = api_as("admin").request("PUT", f"workflows/{workflow.id}", json=body)
    _error(response, 422)
    assert set(_details(response)) == {"name", "definition.stages.0.steps.0.key"}
    response = api_as("admin").request("PUT", f"workflows/{workflow.id}", json=_body())
    assert set(_details(response)) == {"version"}
    assert _state(db) == before


def test_the_signing_secret_is_the_workflows_never_in_a_definition_or_a_workflow_answer(
    api_as, users, db, app
):
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    try:
        hook = step("hook", "webhook", {"url": "http://127.0.0.1:9/hook"})
        body = _body(stages=[{"steps": [hook]}])
        client = api_as("admin")
        created = client.post("workflows", json=body)
        assert created.status_code == 201, created.json
        workflow_id = created.json["id"]
        secret = db.session.get(Workflow, workflow_id).signing_secret
        assert secret.startswith("whsec_")
        assert secret not in created.get_data(as_text=True)
        assert "secret" not in created.json["definition"]["stages"][0]["steps"][0]["config"]
        body["definition"]["stages"][0]["steps"][0]["config"]["read_timeout"] = 20
        saved = client.request("PUT", f"workflows/{workflow_id}", json=body | {"version": 1})
        assert saved.status_code == 200, saved.json
        assert secret not in saved.get_data(as_text=True)
        assert secret not in client.get(f"workflows/{workflow_id}").get_data(as_text=True)
        for version in db.session.scalars(sa.select(WorkflowVersion)):
            assert "secret" not in version.definition["stages"][0]["steps"][0]["config"]
        assert db.session.get(Workflow, workflow_id).signing_secret == secret
        # The secret is not an input: it is never set through a step's config.
        body["definition"]["stages"][0]["steps"][0]["config"]["secret"] = "mine"
        response = client.request("PUT", f"workflows/{workflow_id}", json=body | {"version": 2})
        assert set(_details(response)) == {"definition.stages.0.steps.0.config.secret"}
    finally:
        app.config["WEBHOOK_ALLOWLIST"] = []


# ------------------------------------------------------------------ activate, deactivate


def test_activate_a_version_and_deactivate(api_as, users, db):
    client = api_as("admin")
    workflow_id = client.post("workflows", json=_body()).json["id"]
    client.request("PUT", f"workflows/{workflow_id}", json=_body("Second") | {"version": 1})

    latest = client.post(f"workflows/{workflow_id}/activate")
    assert latest.status_code == 200, latest.json
    assert (latest.json["status"], latest.json["active_version_number"]) == ("active", 2)
    first = client.post(f"workflows/{workflow_id}/activate?version=1")
    assert first.json["active_version_number"] == 1
    assert first.json["active_version"]["number"] == 1

    before = _state(db)
    missing = client.post(f"workflows/{workflow_id}/activate?version=3")
    assert _error(missing, 404)["message"] == "This workflow has no version 3."
    for query in ("version=0", "version=two"):
        response = client.post(f"workflows/{workflow_id}/activate?{query}")
        assert set(_details(response)) == {"version"}
    assert _state(db) == before

    off = client.post(f"workflows/{workflow_id}/deactivate")
    assert off.status_code == 200, off.json
    assert off.json["status"] == "inactive"
    before = _state(db)
    again = client.post(f"workflows/{workflow_id}/deactivate")
    assert _error(again, 422)["message"] == "This workflow is not active."
    assert _state(db) == before
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "workflow")
    ).all()
    assert actions.count("workflow.activated") == 2
    assert actions.count("workflow.deactivated") == 1


# ------------------------------------------------------------------ trigger


def test_trigger_starts_an_execution_and_answers_202_with_its_location(api_as, users, db):
    workflow = _manual_workflow(users)
    policy = factories.make_policy(users["owner"], title="Passwords")
    response = api_as("admin").post(
        f"workflows/{workflow.id}/trigger",
        json={"policy_id": policy.id, "input": {"reason": "quarterly", "ticket": [1, 2]}},
    )
    assert response.status_code == 202, response.json
    execution_id = response.json["execution_id"]
    assert response.headers["Location"] == f"/api/v1/executions/{execution_id}"
    execution = db.session.get(Execution, execution_id)
    assert (execution.workflow_id, execution.policy_id) == (workflow.id, policy.id)
    assert (execution.trigger_type, execution.actor_id) == ("manual", users["admin"].id)
    assert execution.trigger_data == {
        "reason": "quarterly",
        "ticket": [1, 2],
        "started_by": users["admin"].id,
    }
    assert [run.status for run in execution.step_runs] == ["queued"]
    assert run_queued_steps() == 1
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == policy.owner_id))
    assert note.subject == "Run: quarterly"  # the input reached the step as trigger.reason


def test_trigger_refusals_start_nothing(api_as, users, db):
    active = _manual_workflow(users)
    draft = _manual_workflow(users, activate=False)
    on_create = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )
    client = api_as("admin")
    before = _state(db)

    def refused(workflow_id: int, body, status: int = 422):
        response = client.post(f"workflows/{workflow_id}/trigger", json=body)
        _error(response, status)
        return response

    assert "Activate" in refused(draft.id, {}).json["error"]["message"]
    assert "manual trigger" in refused(on_create.id, {}).json["error"]["message"]
    assert set(_details(refused(active.id, {"policy_id": 4242}))) == {"policy_id"}
    assert set(_details(refused(active.id, {"policy_id": 2**31}))) == {"policy_id"}
    assert set(_details(refused(active.id, {"input": {"started_by": 1}}))) == {"input.started_by"}
    assert set(_details(refused(active.id, {"input": {"a": "\x00"}}))) == {"input"}
    assert set(_details(refused(active.id, {"input": [1]}))) == {"input"}
    assert set(_details(refused(active.id, {"policy": 1}))) == {"policy"}
    nan = client.post(
        f"workflows/{active.id}/trigger",
        data='{"input": {"score": NaN}}',
        content_type="application/json",
    )
    _error(nan, 422)
    assert set(_details(nan)) == {"input"}
    assert _state(db) == before


# ------------------------------------------------------------------ delete


def test_delete_is_refused_with_409_while_an_execution_is_unfinished(api_as, users, db):
    legal = users["approver"].groups[0]
    workflow = _manual_workflow(users, stages=[[step("legal", "approval", {"groups": [legal.id]})]])
    client = api_as("admin")
    client.post(f"workflows/{workflow.id}/trigger", json={})
    before = _state(db)
    error = _error(client.delete(f"workflows/{workflow.id}"), 409)  # queued
    assert "1 unfinished execution" in error["message"]
    run_queued_steps()
    assert db.session.scalar(sa.select(Execution.status)) == "waiting"
    _error(client.delete(f"workflows/{workflow.id}"), 409)  # waiting for an approval
    db.session.expire_all()
    state = _state(db)
    assert state[0] == before[0]  # still active, same versions
    assert state[2:5] == (1, 1, 1)


def test_delete_is_refused_once_a_workflow_has_run_so_its_history_stays(api_as, users, db):
    workflow = _manual_workflow(
        users,
        stages=[[step("todo", "create_task", {"title": "Read", "assignee": users["owner"].id})]],
    )
    client = api_as("admin")
    done = client.post(f"workflows/{workflow.id}/trigger", json={}).json["execution_id"]
    run_queued_steps()
    db.session.expire_all()
    assert db.session.get(Execution, done).status == "succeeded"
    before = _state(db)

    error = _error(client.delete(f"workflows/{workflow.id}"), 409)

    assert "has run 1 time(s)" in error["message"] and "Deactivate it" in error["message"]
    db.session.expire_all()
    assert _state(db) == before
    assert db.session.get(Execution, done) is not None


def test_delete_removes_a_workflow_that_never_ran_and_its_versions(api_as, users, db):
    workflow = _manual_workflow(users)
    keep = _manual_workflow(users)
    workflow_id, keep_id = workflow.id, keep.id
    client = api_as("admin")
    client.request("PUT", f"workflows/{workflow.id}", json=_body("Renamed") | {"version": 1})
    kept = client.post(f"workflows/{keep.id}/trigger", json={}).json["execution_id"]

    response = client.delete(f"workflows/{workflow_id}")

    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.get_data() == b""
    db.session.expire_all()
    assert db.session.get(Workflow, workflow_id) is None
    assert count_rows(db, WorkflowVersion, WorkflowVersion.workflow_id == workflow_id) == 0
    assert [e.id for e in db.session.scalars(sa.select(Execution))] == [kept]
    assert db.session.get(Workflow, keep_id).status == "active"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "workflow.deleted"))
    assert (event.object_id, event.actor_id) == (workflow_id, users["admin"].id)
    assert "never ran" in event.summary
    _error(client.get(f"workflows/{workflow_id}"), 404)
    _error(client.delete(f"workflows/{workflow_id}"), 404)


def test_a_workflows_name_is_free_again_after_it_is_deleted(api_as, users, db):
    client = api_as("admin")
    workflow_id = client.post("workflows", json=_body("Reusable")).json["id"]
    assert client.delete(f"workflows/{workflow_id}").status_code == 204
    again = client.post("workflows", json=_body("Reusable"))
    assert again.status_code == 201, again.json
