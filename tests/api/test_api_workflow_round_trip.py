"""A workflow read from /api/v1/workflows/<id> is a valid PUT body as it stands: sent back
unchanged it saves a new version with the same definition, whatever the trigger and the steps;
the read-only fields of the answer are accepted back and ignored."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import sqlalchemy as sa

from governance.auth import tokens
from governance.auth.models import User
from governance.engine.models import Workflow, WorkflowVersion
from governance.engine.triggers import trigger_types
from tests.conftest import ApiClient
from tests.factories import step

# A trigger of each type, with the fields it uses (the others are null in what GET answers).
# Listed here, since the registry is filled only once an app is made:
# test_a_round_trip_case_covers_every_registered_trigger_type checks that none is missing.
TRIGGER_OF_TYPE = {
    "policy.created": {"type": "policy.created"},
    "policy.updated": {"type": "policy.updated"},
    "policy.status_changed": {"type": "policy.status_changed", "to_status": "in_review"},
    "policy.review_due": {"type": "policy.review_due"},
    "manual": {"type": "manual"},
    "schedule": {"type": "schedule", "cron": "0 9 * * 1"},
    "webhook": {"type": "webhook"},
    "exception.requested": {"type": "exception.requested"},
}


def _versions(db, workflow_id: int) -> list[dict]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(WorkflowVersion.definition)
            .where(WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.number)
        )
    )


def _round_trip(client, db, workflow_id: int) -> None:
    """GET, PUT the answer back unchanged, GET again: one new version, nothing else changed."""
    read = client.get(f"workflows/{workflow_id}")
    assert read.status_code == 200, read.json

    saved = client.request("PUT", f"workflows/{workflow_id}", json=read.json)

    assert saved.status_code == 200, saved.json
    assert saved.json["version"] == read.json["version"] + 1
    unchanged = {
        key: value for key, value in read.json.items() if key not in ("version", "updated_at")
    }
    assert {key: saved.json[key] for key in unchanged} == unchanged
    assert client.get(f"workflows/{workflow_id}").json == saved.json
    *_, before, after = _versions(db, workflow_id)
    assert after == before


def test_every_demo_workflow_read_from_the_api_is_saved_back_unchanged(app, db):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    admin = db.session.scalars(sa.select(User).where(User.email == "admin@example.org")).one()
    # Not the `users` fixture: the demo seeds only an empty database.
    token = tokens.create_token(admin, name="round trip", today=date.today(), expires_on=None)
    client = ApiClient(app, token.token)
    workflow_ids = db.session.scalars(sa.select(Workflow.id).order_by(Workflow.id)).all()
    assert len(workflow_ids) >= 4  # review, publish, schedule, exception approval

    for workflow_id in workflow_ids:
        _round_trip(client, db, workflow_id)


def test_a_round_trip_case_covers_every_registered_trigger_type(app):
    assert set(TRIGGER_OF_TYPE) == set(trigger_types())


@pytest.mark.parametrize("trigger_type", sorted(TRIGGER_OF_TYPE))
def test_a_workflow_with_every_step_type_round_trips_whatever_its_trigger(
    api_as, users, db, app, monkeypatch, trigger_type
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWLIST", ["127.0.0.1"])
    legal = users["approver"].groups[0]
    definition = {
        "trigger": TRIGGER_OF_TYPE[trigger_type],
        "conditions": [{"field": "trigger.reason", "op": "changed"}],
        "stages": [
            {
                "steps": [
                    step(
                        "decide",
                        "approval",
                        {"users": [users["approver"].id], "groups": [legal.id], "due_hours": 12},
                        retry={"attempts": 3, "backoff": "fixed", "base_seconds": 1.5},
                    ),
                    step("todo", "create_task", {"title": "Check", "assignee": "owner"}),
                    step("team", "create_task", {"title": "All", "assignee_group_id": legal.id}),
                    step(
                        "tell",
                        "notify",
                        {
                            "to_owner": True,
                            "subject": "Run {{ execution.id }} of {{ execution.workflow }}",
                        },
                    ),
                ]
            },
            {
                "steps": [
                    step("pause", "wait", {"minutes": 5}),
                    step("hand", "assign", {"role": "owner", "user_id": users["owner"].id}),
                    step("hook", "webhook", {"url": "http://127.0.0.1:9/hook"}),
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
    client = api_as("admin")
    created = client.post("workflows", json={"name": "Every step", "definition": definition})
    assert created.status_code == 201, created.json

    _round_trip(client, db, created.json["id"])


def test_read_only_fields_sent_back_changed_are_ignored_and_unknown_ones_refused(api_as, users, db):
    client = api_as("admin")
    body = {
        "name": "Read it",
        "definition": {
            "trigger": {"type": "manual"},
            "stages": [{"steps": [step("tell", "notify", {"to_owner": True, "subject": "Hi"})]}],
        },
    }
    workflow_id = client.post("workflows", json=body).json["id"]
    assert client.post(f"workflows/{workflow_id}/activate").status_code == 200
    read = client.get(f"workflows/{workflow_id}").json
    edited = copy.deepcopy(read) | {
        "name": "Read it again",
        "id": workflow_id + 1,
        "status": "inactive",
        "trigger_type": "schedule",
        "active_version_number": 9,
        "active_version": None,
        "inbound_legacy_signature": True,
        "created_at": "not a moment",
        "next_run_at": 17,
    }
    edited["definition"]["trigger"]["summary"] = "Whatever I like"

    saved = client.request("PUT", f"workflows/{workflow_id}", json=edited)

    assert saved.status_code == 200, saved.json
    data = saved.json
    assert (data["id"], data["name"], data["version"]) == (workflow_id, "Read it again", 2)
    assert (data["status"], data["trigger_type"], data["active_version_number"]) == (
        "active",
        "manual",
        1,
    )
    assert (data["active_version"], data["created_at"]) == (
        read["active_version"],
        read["created_at"],
    )
    assert data["inbound_legacy_signature"] is False
    assert data["definition"]["trigger"]["summary"] == "Manual (Run button)"
    assert db.session.get(Workflow, workflow_id).webhook_legacy_signature is False

    unknown = client.request("PUT", f"workflows/{workflow_id}", json=data | {"colour": "red"})
    assert unknown.status_code == 422
    assert [detail["field"] for detail in unknown.json["error"]["details"]] == ["colour"]
    assert len(_versions(db, workflow_id)) == 2


def test_a_definition_read_before_someone_saved_is_refused_with_409(api_as, users, db):
    client = api_as("admin")
    body = {
        "name": "Read it",
        "definition": {
            "trigger": {"type": "manual"},
            "stages": [{"steps": [step("tell", "notify", {"to_owner": True, "subject": "Hi"})]}],
        },
    }
    workflow_id = client.post("workflows", json=body).json["id"]
    read = client.get(f"workflows/{workflow_id}").json
    assert client.request("PUT", f"workflows/{workflow_id}", json=read).status_code == 200

    again = client.request("PUT", f"workflows/{workflow_id}", json=read)

    assert again.status_code == 409
    assert "version 2 now" in again.json["error"]["message"]
    assert len(_versions(db, workflow_id)) == 2
