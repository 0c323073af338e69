"""One person deciding two requests of one step at the same moment (two browser tabs) counts
once: the database decides the race. On PostgreSQL the two decisions really overlap; SQLite
lets one writer in at a time, and the same conditional UPDATE decides it there."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from governance.approvals import service as approvals
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine.models import StepRun
from governance.errors import Conflict
from tests import factories
from tests.factories import approval_requests, make_workflow, step, submit_for_review


def _decide_at_once(app, user_id: int, request_ids: list[int]) -> list[str]:
    """Each request decided by the same user in its own thread, app context and session."""
    start = threading.Barrier(len(request_ids))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def decide(request_id: int) -> None:
        with app.app_context():
            from governance.auth.models import User
            from governance.extensions import db

            user = db.session.get(User, user_id)
            user.groups  # noqa: B018 - loaded before the race, as a request would have it
            start.wait()
            try:
                approvals.record_decision(request_id, user=user, decision="approved")
                outcomes.append("ok")
            except Conflict as error:
                db.session.rollback()
                outcomes.append(error.message)
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=(request_id,)) for request_id in request_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


def _only_one_counted(db, outcomes: list[str], person_id: int, refusal_says: str) -> None:
    """Of two decisions sent at once, one was recorded (by that person) and one refused."""
    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    refusal = next(outcome for outcome in outcomes if outcome != "ok")
    assert refusal_says in refusal
    db.session.expire_all()
    decided = db.session.scalars(
        sa.select(ApprovalRequest.decided_by_id).where(ApprovalRequest.status == "approved")
    ).all()
    assert decided == [person_id]


def test_the_same_person_deciding_two_requests_of_a_step_at_once_counts_once(app, db, users):
    legal, security = users["approver"].groups[0], users["security"].groups[0]
    priya = factories.make_user("approver", email="priya@example.test", groups=[legal, security])
    make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[step("review", "approval", {"groups": [legal.id, security.id], "rule": "all"})]],
    )
    submit_for_review(users)
    request_ids = [request.id for request in approval_requests(db)]
    assert len(request_ids) == 2

    outcomes = _decide_at_once(app, priya.id, request_ids)

    _only_one_counted(db, outcomes, priya.id, "already decided this step")
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "approval.approved")
        )
        == 1
    )
    # "Every assignee": the other group still has someone else to ask.
    assert db.session.scalar(sa.select(StepRun.status).where(StepRun.step_key == "review")) == (
        "waiting"
    )


def test_the_same_person_deciding_two_steps_kept_apart_at_once_counts_once(app, db, users):
    """Two tabs, one per parallel step, under "one person decides at most one approval step":
    the execution lock and the UPDATE's step-wide check let exactly one decision in."""
    legal, security = users["approver"].groups[0], users["security"].groups[0]
    priya = factories.make_user("approver", email="priya@example.test", groups=[legal, security])
    make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        one_step_per_person=True,
        stages=[
            [
                step("legal", "approval", {"groups": [legal.id], "rule": "any"}),
                step("security", "approval", {"groups": [security.id], "rule": "any"}),
            ]
        ],
    )
    submit_for_review(users)
    request_ids = [request.id for request in approval_requests(db)]
    assert len(request_ids) == 2

    outcomes = _decide_at_once(app, priya.id, request_ids)

    _only_one_counted(db, outcomes, priya.id, "one person decides at most one approval step")
    statuses = sorted(db.session.scalars(sa.select(StepRun.status)).all())
    assert statuses == ["succeeded", "waiting"]
