"""/api/v1/executions: the list (filters, visibility, cursor pages), one execution with its
stages, steps, attempts and approval requests (secrets hidden), and the admins' cancel and
retry. Workflows are built through the workflow service and their steps run the way a
consumer runs them (tests.factories.run_queued_steps); every refusal leaves the data as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.approvals import service as approvals
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine import operate, start
from governance.engine.models import Execution, StepRun
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import make_workflow, run_queued_steps, step

CREATED = {"type": "policy.created"}
SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}
ONE_TRY = {"attempts": 1, "backoff": "fixed", "base_seconds": 0}
TWO_TRIES = {"attempts": 2, "backoff": "fixed", "base_seconds": 0}
# Divides by the policy's tag count: every attempt fails on a policy without tags, and a retry
# succeeds once the policy has one.
PER_TAG_SUBJECT = "{{ 100 // policy.tags | length }}% per tag"


def _task_workflow(users, name=None):
    return make_workflow(
        users["admin"],
        name=name,
        trigger=CREATED,
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )


def _failing_workflow(users, name=None):
    """A draft cannot be published directly: the set_status step fails for good."""
    return make_workflow(
        users["admin"],
        name=name,
        trigger=CREATED,
        stages=[[step("publish", "set_status", {"status": "published"}, retry=ONE_TRY)]],
    )


def _latest(db) -> Execution:
    db.session.expire_all()
    return db.session.scalars(sa.select(Execution).order_by(Execution.id.desc())).first()


def _waiting_execution(db, users) -> Execution:
    """The owner submits a policy; the admin's approval is awaited, then a task follows."""
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[
            [step("review", "approval", {"users": [users["admin"].id], "rule": "any"})],
            [step("follow_up", "create_task", {"title": "Publish it", "assignee": "owner"})],
        ],
    )
    policy = factories.make_policy(users["owner"])
    factories.policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    run_queued_steps()
    execution = _latest(db)
    assert execution.status == "waiting"
    return execution


def _failed_mail_execution(db, users, retry=TWO_TRIES) -> Execution:
    make_workflow(
        users["admin"],
        trigger=CREATED,
        stages=[
            [step("mail", "notify", {"to_owner": True, "subject": PER_TAG_SUBJECT}, retry=retry)],
            [step("todo", "create_task", {"title": "Read it", "assignee": "owner"})],
        ],
    )
    factories.make_policy(users["owner"], tags="")
    run_queued_steps()
    execution = _latest(db)
    assert execution.status == "failed"
    return execution


def _state(db) -> list[tuple]:
    """What cancel and retry may change: executions, step runs, requests, their audit events."""
    db.session.expire_all()
    return [
        *db.session.execute(
            sa.select(Execution.id, Execution.status, Execution.error, Execution.finished_at)
        ),
        *db.session.execute(sa.select(StepRun.id, StepRun.status, StepRun.attempt)),
        *db.session.execute(sa.select(ApprovalRequest.id, ApprovalRequest.status)),
        *db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.object_id).where(
                AuditEvent.action.like("execution.%")
            )
        ),
    ]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


# ------------------------------------------------------------------ list


def test_list_is_newest_first_and_filters_by_workflow_status_policy_and_since(api_as, users, db):
    tasks = _task_workflow(users, name="Tasks on create")
    failing = _failing_workflow(users, name="Publish at once")
    first = factories.make_policy(users["owner"], title="First policy")
    second = factories.make_policy(users["owner"], title="Second policy")
    run_queued_steps()
    executions = db.session.scalars(sa.select(Execution).order_by(Execution.id)).all()
    by_key = {(e.workflow_id, e.policy_id): e.id for e in executions}
    client = api_as("owner")

    response = client.get("executions")
    assert _ids(response) == [e.id for e in reversed(executions)]
    assert response.json["next_cursor"] is None
    row = next(
        item for item in response.json["items"] if item["id"] == by_key[(tasks.id, second.id)]
    )
    assert row["workflow"] == {"id": tasks.id, "name": "Tasks on create"}
    assert row["policy"] == {"id": second.id, "title": "Second policy"}
    assert row["status"] == "succeeded"
    assert row["trigger_type"] == "policy.created"
    assert row["started_by"] == {"id": users["owner"].id, "name": users["owner"].name}
    assert row["current_stage"] == 1
    assert row["finished_at"] is not None

    assert _ids(client.get(f"executions?workflow_id={tasks.id}")) == [
        by_key[(tasks.id, second.id)],
        by_key[(tasks.id, first.id)],
    ]
    assert _ids(client.get("executions?status=failed")) == [
        by_key[(failing.id, second.id)],
        by_key[(failing.id, first.id)],
    ]
    assert _ids(client.get(f"executions?policy_id={second.id}&status=succeeded")) == [
        by_key[(tasks.id, second.id)]
    ]
    hour_ago = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    in_an_hour = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(_ids(client.get(f"executions?since={hour_ago}Z"))) == 4
    assert _ids(client.get(f"executions?since={in_an_hour}")) == []
    # With an offset (sent encoded, as curl --data-urlencode does): an hour ahead, an hour ago.
    local = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    assert _ids(client.get(f"executions?since={local}%2B01:00")) == []
    assert len(_ids(client.get(f"executions?since={local}%2B03:00"))) == 4


def test_list_pages_with_a_cursor_until_the_last_page(api_as, users, db):
    workflow = _task_workflow(users)
    for number in range(5):
        start.start_execution(
            workflow,
            policy_id=None,
            trigger_type="manual",
            trigger_data={"n": number},
            actor_id=None,
        )
        db.session.commit()
    all_ids = sorted(db.session.scalars(sa.select(Execution.id)), reverse=True)
    client = api_as("viewer")

    first = client.get("executions?limit=2")
    second = client.get(f"executions?limit=2&cursor={first.json['next_cursor']}")
    third = client.get(f"executions?limit=2&cursor={second.json['next_cursor']}")

    assert _ids(first) + _ids(second) + _ids(third) == all_ids
    assert first.json["next_cursor"] and second.json["next_cursor"]
    assert third.json["next_cursor"] is None
    assert first.json["items"][0]["policy"] is None
    assert first.json["items"][0]["started_by"] is None


def test_list_and_get_use_a_constant_number_of_queries(api_as, users, db, count_statements):
    workflow = _task_workflow(users)
    client = api_as("viewer")

    def statements_for(path: str) -> int:
        with count_statements() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    def start_some(count: int) -> None:
        for number in range(count):
            policy = factories.make_policy(users["owner"], "published", admin=users["admin"])
            start.start_execution(
                workflow,
                policy_id=policy.id if number % 3 else None,
                trigger_type="manual",
                trigger_data={"number": number},
                actor_id=users["admin"].id if number % 2 else None,
            )
            db.session.commit()

    start_some(2)
    statements_for("executions")  # a token's first use also records when it was used
    few = statements_for("executions")
    start_some(30)
    assert statements_for("executions") == few
    assert statements_for("executions?limit=200&status=running") == few
    run_queued_steps()
    last = _latest(db)
    assert statements_for(f"executions/{last.id}") == statements_for(f"executions/{last.id - 20}")


def test_viewers_see_executions_of_published_policies_only(api_as, users, db):
    _task_workflow(users)
    draft = factories.make_policy(users["owner"], title="Secret draft")
    published = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    draft_execution = db.session.scalar(
        sa.select(Execution.id).where(Execution.policy_id == draft.id)
    )
    viewer = api_as("viewer")

    listed = viewer.get("executions").json["items"]
    assert {item["policy"]["id"] for item in listed} == {published.id}
    assert _ids(viewer.get(f"executions?policy_id={draft.id}")) == []
    hidden = viewer.get(f"executions/{draft_execution}")
    assert hidden.status_code == 404
    assert hidden.json["error"]["code"] == "not_found"
    assert "Secret draft" not in hidden.get_data(as_text=True)
    assert api_as("approver").get(f"executions/{draft_execution}").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=exploded", "status"),
        ("workflow_id=abc", "workflow_id"),
        ("policy_id=0", "policy_id"),
        ("since=31/02/2027", "since"),
        # RFC 3339 only, as the document's `format: date-time` says: no seconds since 1970,
        # no moment without its offset.
        ("since=0.5", "since"),
        ("since=2025-05-01T00:00:00", "since"),
        ("since=2025-05-01", "since"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-one-of-ours", "cursor"),
    ],
)
def test_invalid_list_filters_answer_422_naming_the_field(api_as, users, db, query, field):
    response = api_as("owner").get(f"executions?{query}")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert [detail["field"] for detail in response.json["error"]["details"]] == [field]


def test_a_moment_before_the_first_utc_moment_lists_everything(api_as, users, db):
    """0001-01-01T00:00:00+01:00 is a valid date-time, an hour before anything UTC can say."""
    execution = _failed_mail_execution(db, users)
    response = api_as("admin").get("executions?since=0001-01-01T00:00:00%2B01:00")
    assert _ids(response) == [execution.id]


# ------------------------------------------------------------------ one execution


def test_get_shows_stages_steps_attempts_and_tracebacks_only_to_admins(api_as, users, db):
    execution = _failed_mail_execution(db, users)
    admin = api_as("admin").get(f"executions/{execution.id}")
    owner = api_as("owner").get(f"executions/{execution.id}")

    assert admin.status_code == owner.status_code == 200
    body = owner.json
    assert body["id"] == execution.id
    assert body["status"] == "failed"
    assert body["workflow_version"] == 1
    assert body["error"] == (
        "Step “mail” failed: ZeroDivisionError: integer division or modulo by zero"
    )
    assert body["trigger_data"]["policy_id"] == execution.policy_id
    assert [(stage["number"], stage["state"]) for stage in body["stages"]] == [
        (1, "failed"),
        (2, "cancelled"),
    ]
    [mail] = body["stages"][0]["steps"]
    assert (mail["key"], mail["type"], mail["status"]) == ("mail", "notify", "failed")
    assert (mail["attempt"], mail["max_attempts"], mail["automated"]) == (2, 2, True)
    assert [(a["number"], a["outcome"]) for a in mail["attempts"]] == [(1, "retry"), (2, "failed")]
    assert all("ZeroDivisionError" in a["error"] for a in mail["attempts"])
    assert [a["traceback"] for a in mail["attempts"]] == [None, None]
    admin_attempts = admin.json["stages"][0]["steps"][0]["attempts"]
    assert all("Traceback (most recent call last)" in a["traceback"] for a in admin_attempts)
    [todo] = body["stages"][1]["steps"]
    assert (todo["key"], todo["status"], todo["attempts"]) == ("todo", "cancelled", [])


def test_get_lists_approval_requests_with_their_assignees_and_decisions(api_as, users, db):
    execution = _waiting_execution(db, users)
    request = db.session.scalar(sa.select(ApprovalRequest))

    body = api_as("owner").get(f"executions/{execution.id}").json

    assert body["status"] == "waiting"
    assert body["current_stage"] == 1
    assert [stage["state"] for stage in body["stages"]] == ["current", "upcoming"]
    [review] = body["stages"][0]["steps"]
    assert (review["status"], review["automated"]) == ("waiting", False)
    assert review["approval_requests"] == [
        {
            "id": request.id,
            "status": "pending",
            "assignee_user": {"id": users["admin"].id, "name": users["admin"].name},
            "assignee_group": None,
            "due_at": None,
            "decided_by": None,
            "decided_at": None,
            "comment": None,
        }
    ]


def test_get_never_shows_a_step_configs_secret(app, api_as, users, db):
    secret = "whsec-very-private-value-42"
    run = factories.step_run_that_saw_a_secret(app, users, secret)

    response = api_as("admin").get(f"executions/{run.execution_id}")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert secret not in text
    assert "anything" not in text
    [hook] = response.json["stages"][0]["steps"]
    assert hook["output"] == {
        "secret": "[hidden]",
        "echo": "signed with [hidden]",
        "nested": [{"secret": "[hidden]"}],
    }
    assert hook["error"] == "refused: [hidden]"
    assert response.json["error"] == "failed with [hidden]"


def test_an_unknown_execution_is_not_found(api_as, users, db):
    for path in ("executions/99999", "executions/99999999999999999999999"):
        response = api_as("admin").get(path)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"


# ------------------------------------------------------------------ tokens and roles


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "executions"),
        ("GET", "executions/{id}"),
        ("POST", "executions/{id}/cancel"),
        ("POST", "executions/{id}/retry"),
    ],
)
def test_every_endpoint_needs_a_valid_token(api_as, users, db, method, path):
    execution = _waiting_execution(db, users)
    before = _state(db)
    url = path.format(id=execution.id)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        response = api_as(None).request(method, url, json={}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json["error"]["code"] in ("unauthorized", "invalid_token")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _state(db) == before


@pytest.mark.parametrize("action", ["cancel", "retry"])
@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_may_cancel_or_retry(api_as, users, db, role, action):
    execution = _waiting_execution(db, users)
    client = api_as(role)
    before = _state(db)

    response = client.post(f"executions/{execution.id}/{action}", json={"reason": "Because"})

    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert _state(db) == before


# ------------------------------------------------------------------ cancel


def test_admin_cancels_a_waiting_execution_with_a_reason(api_as, users, db):
    execution = _waiting_execution(db, users)

    response = api_as("admin").post(
        f"executions/{execution.id}/cancel", json={"reason": "  Submitted by mistake "}
    )

    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["error"] == "Submitted by mistake"
    assert [stage["state"] for stage in response.json["stages"]] == ["cancelled", "cancelled"]
    execution = _latest(db)
    assert (execution.status, execution.error) == ("cancelled", "Submitted by mistake")
    assert {r.status for r in db.session.scalars(sa.select(ApprovalRequest))} == {"cancelled"}
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "execution.cancelled")
    ).all()
    assert (event.object_id, event.actor_id) == (execution.id, users["admin"].id)


@pytest.mark.parametrize("body", [{"json": {}}, {}], ids=["empty object", "no body"])
def test_cancel_without_a_reason_needs_no_body(api_as, users, db, body):
    execution = _waiting_execution(db, users)
    response = api_as("admin").request("POST", f"executions/{execution.id}/cancel", **body)
    assert response.status_code == 200
    assert response.json["error"] == "Cancelled by an operator."


def test_cancelling_a_finished_execution_is_a_conflict_and_changes_nothing(api_as, users, db):
    _task_workflow(users)
    factories.make_policy(users["owner"])
    run_queued_steps()
    execution = _latest(db)
    before = _state(db)

    response = api_as("admin").post(f"executions/{execution.id}/cancel", json={})

    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert "already ended (succeeded)" in response.json["error"]["message"]
    assert _state(db) == before


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"data": "{", "content_type": "application/json"}, 400, None),
        ({"json": {"reason": "x" * 501}}, 422, "reason"),
        ({"json": {"reason": 5}}, 422, "reason"),
        ({"json": {"reason": "a\x00b"}}, 422, "reason"),  # PostgreSQL cannot store NUL
        ({"json": {"reason": "ok", "force": True}}, 422, "force"),
        ({"json": ["reason"]}, 422, None),
    ],
)
def test_a_bad_cancel_body_is_refused_and_changes_nothing(api_as, users, db, kwargs, status, field):
    execution = _waiting_execution(db, users)
    client = api_as("admin")
    before = _state(db)

    response = client.request("POST", f"executions/{execution.id}/cancel", **kwargs)

    assert response.status_code == status, response.json
    assert response.is_json
    fields = [detail["field"] for detail in response.json["error"]["details"]]
    if field:
        assert fields == [field]
        if field == "force":
            assert response.json["error"]["details"][0]["message"] == "Unknown field “force”."
    assert _state(db) == before


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_cancel_or_retry_of_an_unknown_execution_is_not_found(api_as, users, db, action):
    response = api_as("admin").post(f"executions/99999/{action}", json={})
    assert response.status_code == 404
    assert _state(db) == []


def test_cancel_and_retry_are_only_posts(api_as, users, db):
    execution = _waiting_execution(db, users)
    response = api_as("admin").get(f"executions/{execution.id}/cancel")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


# ------------------------------------------------------------------ retry


def test_admin_retries_a_failed_execution_and_it_then_succeeds(api_as, users, db):
    execution = _failed_mail_execution(db, users, retry=ONE_TRY)
    factories.edit_policy(execution.policy_id, users["owner"], tags="privacy")  # the fix

    response = api_as("admin").post(f"executions/{execution.id}/retry")

    assert response.status_code == 202
    assert response.headers["Location"] == f"/api/v1/executions/{execution.id}"
    assert response.json["status"] == "running"
    assert response.json["error"] is None
    [mail] = response.json["stages"][0]["steps"]
    assert (mail["status"], mail["max_attempts"]) == ("queued", 2)
    assert [e.action for e in db.session.scalars(sa.select(AuditEvent))].count(
        "execution.retried"
    ) == 1
    run_queued_steps()
    assert _latest(db).status == "succeeded"
    followed = api_as("owner").get(response.headers["Location"]).json
    assert [stage["state"] for stage in followed["stages"]] == ["done", "done"]
    assert [a["outcome"] for a in followed["stages"][0]["steps"][0]["attempts"]] == [
        "failed",
        "succeeded",
    ]


@pytest.mark.parametrize("state", ["waiting", "succeeded", "cancelled"])
def test_retrying_an_execution_that_did_not_fail_is_a_conflict(api_as, users, db, state):
    execution = _waiting_execution(db, users)
    if state == "cancelled":
        with unit_of_work():
            operate.cancel_execution(execution.id, actor_id=users["admin"].id)
    elif state == "succeeded":
        request = db.session.scalar(sa.select(ApprovalRequest))
        approvals.record_decision(request.id, user=users["admin"], decision="approved")
        run_queued_steps()
    assert _latest(db).status == state
    before = _state(db)

    response = api_as("admin").post(f"executions/{execution.id}/retry")

    assert response.status_code == 409
    assert response.json["error"]["message"] == "Only a failed execution can be retried."
    assert _state(db) == before
