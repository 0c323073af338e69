"""The engine's execution.finished event: published once, in the transaction that ends an
execution, for success, rejection and cancellation alike."""

from __future__ import annotations

import dataclasses

import pytest

from governance import events
from governance.approvals import service as approvals
from governance.engine import operate
from governance.engine.events import ExecutionFinished
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import approval_requests, make_workflow, run_queued_steps, step


@pytest.fixture
def finished():
    seen: list[dict] = []

    def collect(event: ExecutionFinished) -> None:
        seen.append(dataclasses.asdict(event))

    events.subscribe(ExecutionFinished, collect)
    yield seen
    events.unsubscribe(ExecutionFinished, collect)


def test_a_successful_execution_publishes_finished_once(users, db, finished):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("tell", "notify", {"to_owner": True, "subject": "Hi"})]],
    )
    factories.make_policy(users["owner"])

    run_queued_steps()
    run_queued_steps()

    assert [(p["status"], p["trigger_type"]) for p in finished] == [("succeeded", "policy.created")]


def test_rejection_and_cancellation_publish_finished_with_their_status(users, db, finished):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("approve", "approval", {"users": [users["approver"].id]})]],
    )
    first = factories.make_policy(users["owner"])
    factories.make_policy(users["owner"])
    run_queued_steps()
    # One request each; the queued steps may run in either order (they do on PostgreSQL), so
    # the requests are told apart by their execution's policy, not by their ids.
    requests = approval_requests(db)
    assert len(requests) == 2
    by_first = next(request for request in requests if request.execution.policy_id == first.id)
    by_second = next(request for request in requests if request is not by_first)

    approvals.record_decision(
        by_first.id, user=users["approver"], decision="rejected", comment="No."
    )
    with unit_of_work():
        operate.cancel_execution(by_second.execution_id, actor_id=users["admin"].id)
    with pytest.raises(Exception, match="already ended"), unit_of_work():
        operate.cancel_execution(by_second.execution_id, actor_id=users["admin"].id)

    assert [(p["execution_id"], p["status"]) for p in finished] == [
        (by_first.execution_id, "rejected"),
        (by_second.execution_id, "cancelled"),
    ]
