"""/api/v1/queues (admin): the figures of /health/queues, and failed jobs listed, retried and
discarded through the queue page's operations. Job records come through the real Huey path:
services enqueue, the test takes each message off its own queue and executes it the way a
consumer does, so Huey's signals feed the recorder. Every refusal leaves jobs, steps,
executions, emails, the queue and the audit trail as they were.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.models import Execution, StepRun
from governance.notifications.models import OutboundEmail
from governance.queues.housekeeping import prune_monitoring_data_hourly
from governance.queues.models import JobRecord
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.jobs import (
    consume,
    failed_email_job,
    failed_step_jobs,
    job,
    jobs_where,
    queued_messages,
    step_run_of,
)

NOT_ADMINS = ["owner", "approver", "viewer"]


def failed_housekeeping_job(app, db, monkeypatch) -> JobRecord:
    """The hourly pruning, run through Huey with a mistyped retention setting: it fails."""
    monkeypatch.setitem(app.config, "JOB_RETENTION_DAYS", "thirty")
    prune_monitoring_data_hourly()
    consume()
    [record] = jobs_where(db, JobRecord.task_name == "prune_monitoring_data_hourly")
    assert record.status == "error"
    return record


def audit_actions(db) -> list[tuple[str, int]]:
    db.session.expire_all()
    return list(
        db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.object_id)
            .where(
                sa.or_(
                    AuditEvent.action.like("job.%"),
                    AuditEvent.action.like("execution.%"),
                    AuditEvent.action.like("email.%"),
                )
            )
            .order_by(AuditEvent.id)
        )
    )


def _state(db) -> list:
    """What retry and discard may change, and what waits in the queue."""
    db.session.expire_all()
    return [
        *db.session.execute(
            sa.select(JobRecord.id, JobRecord.status, JobRecord.resolution).order_by(JobRecord.id)
        ),
        *db.session.execute(sa.select(StepRun.id, StepRun.status, StepRun.error)),
        *db.session.execute(sa.select(Execution.id, Execution.status, Execution.error)),
        *db.session.execute(sa.select(OutboundEmail.id, OutboundEmail.status)),
        *audit_actions(db),
        *queued_messages(),
    ]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def _endpoints(job_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "queues/stats", None),
        ("GET", "queues/failed", None),
        ("POST", f"queues/failed/{job_id}/retry", None),
        ("POST", f"queues/failed/{job_id}/discard", {"reason": "Not needed"}),
    ]


# ------------------------------------------------------------------ who may call


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_non_admins_are_refused_every_queue_endpoint(api_as, db, users, role):
    (failed,) = failed_step_jobs(db, users)
    client = api_as(role)
    before = _state(db)

    for method, path, body in _endpoints(failed.id):
        response = client.request(method, path, json=body)
        assert response.status_code == 403, (role, path)
        assert response.json["error"] == {
            "code": "forbidden",
            "message": "This needs the role admin.",
            "details": [],
        }

    assert _state(db) == before


def test_every_queue_endpoint_needs_a_valid_token(api_as, db, users):
    (failed,) = failed_step_jobs(db, users)
    before = _state(db)

    for method, path, body in _endpoints(failed.id):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = api_as(None).request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.is_json

    assert _state(db) == before


# ------------------------------------------------------------------ stats


def test_stats_are_the_figures_of_health_queues(api_as, client, db, users):
    failed_step_jobs(db, users)  # one failed step
    for tags in ("a", "b"):
        factories.make_policy(users["owner"], tags=tags)
    consume()  # two steps and their two emails complete
    factories.make_policy(users["owner"], tags="c")  # one message waits
    factories.make_consumer(last_seen_at=utcnow())

    response = api_as("admin").get("queues/stats")
    health = client.get("/health/queues")

    assert response.status_code == 200
    assert health.status_code == 200
    stats = response.json
    assert (stats["status"], stats["problems"]) == ("ok", [])
    assert stats["pending"] == 1
    assert stats["failed_last_hour"] == 1
    assert stats["completed_last_hour"] == 4
    assert stats["consumers_alive"] == 1
    # The same figures, measured a moment apart (throughput counts the seconds gone by).
    moving = {"throughput_per_minute", "oldest_pending_age_s"}
    assert {k: v for k, v in stats.items() if k not in moving | {"problems"}} == {
        k: v for k, v in health.get_json().items() if k not in moving
    }
    assert stats["oldest_pending_age_s"] == pytest.approx(
        health.get_json()["oldest_pending_age_s"], abs=5
    )
    assert stats["throughput_per_minute"] > 0


def test_stats_answer_200_and_name_the_problem_when_the_queue_is_unhealthy(api_as, client, db):
    response = api_as("admin").get("queues/stats")

    assert response.status_code == 200
    assert response.json["status"] == "unhealthy"
    assert response.json["problems"] == ["No consumer has sent a fresh heartbeat."]
    assert response.json["consumers_alive"] == 0
    health = client.get("/health/queues")
    assert health.status_code == 503
    assert health.get_json()["problems"] == response.json["problems"]


# ------------------------------------------------------------------ failed jobs list


def test_failed_list_filters_by_task_name_and_failure_time_and_pages(
    app, api_as, db, users, refused_smtp, monkeypatch
):
    old, recent = failed_step_jobs(db, users, count=2)
    email_job = failed_email_job(db, users)
    housekeeping = failed_housekeeping_job(app, db, monkeypatch)
    db.session.execute(
        sa.update(JobRecord)
        .where(JobRecord.id == old.id)
        .values(finished_at=utcnow() - timedelta(days=2))
    )
    db.session.commit()
    client = api_as("admin")
    newest_first = [housekeeping.id, email_job.id, recent.id, old.id]

    response = client.get("queues/failed")
    assert _ids(response) == newest_first
    item = response.json["items"][-1]
    assert item["task_name"] == "steward.run_step"
    assert item["status"] == "error"
    assert item["args"] == [old.step_run_id]
    assert item["step_run_id"] == old.step_run_id
    assert item["error"] == "ZeroDivisionError: integer division or modulo by zero"
    assert "notifications/step.py" in item["traceback"]  # the step's own traceback
    assert item["can_retry"] is True
    assert response.json["items"][0]["can_retry"] is False  # housekeeping runs on its own

    assert _ids(client.get("queues/failed?task_name=steward.send_email")) == [email_job.id]
    assert _ids(client.get("queues/failed?task_name=steward.run_step")) == [recent.id, old.id]
    assert _ids(client.get("queues/failed?task_name=steward.nothing")) == []
    day_ago = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(client.get(f"queues/failed?since={day_ago}")) == newest_first[:3]
    assert _ids(client.get(f"queues/failed?task_name=steward.run_step&since={day_ago}")) == [
        recent.id
    ]

    first = client.get("queues/failed?limit=3")
    rest = client.get(f"queues/failed?limit=3&cursor={first.json['next_cursor']}")
    assert _ids(first) + _ids(rest) == newest_first
    assert rest.json["next_cursor"] is None


def test_resolved_jobs_leave_the_failed_list(api_as, db, users):
    first, second = failed_step_jobs(db, users, count=2)
    client = api_as("admin")
    assert client.post(f"queues/failed/{first.id}/retry").status_code == 200
    assert (
        client.post(f"queues/failed/{second.id}/discard", json={"reason": "Old"}).status_code == 200
    )
    assert _ids(client.get("queues/failed")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("since=0.5", "since"),
        ("task_name=" + "x" * 121, "task_name"),
        ("limit=500", "limit"),
        ("task_name=steward%00run_step", "task_name"),
        ("cursor=abc", "cursor"),
    ],
)
def test_invalid_failed_list_parameters_answer_422(api_as, db, users, query, field):
    response = api_as("admin").get(f"queues/failed?{query}")
    assert response.status_code == 422
    assert [d["field"] for d in response.json["error"]["details"]] == [field]


# ------------------------------------------------------------------ retry


def test_retrying_a_failed_step_job_restarts_its_execution(api_as, db, users):
    (failed,) = failed_step_jobs(db, users)
    client = api_as("admin")

    response = client.post(f"queues/failed/{failed.id}/retry")

    assert response.status_code == 200, response.json
    run = step_run_of(db, failed)
    assert response.json["message"] == (f"Execution {run.execution_id} restarts from step “mail”.")
    assert response.json["job"]["status"] == "retried"
    assert response.json["job"]["resolution"] == f"Retried by {users['admin'].name}"
    assert response.json["job"]["can_retry"] is False
    record = job(db, failed.id)
    assert (record.status, record.resolved_by_id) == ("retried", users["admin"].id)
    assert (run.status, run.execution.status) == ("queued", "running")
    assert queued_messages() == [("steward.run_step", (run.id,))]
    assert audit_actions(db) == [
        ("job.retried", failed.id),
        ("execution.retried", run.execution_id),
    ]
    before = _state(db)

    again = client.post(f"queues/failed/{failed.id}/retry")

    assert again.status_code == 409
    assert again.json["error"]["message"] == (
        "Only a failed job can be retried; this one is retried."
    )
    assert _state(db) == before


def test_retrying_a_failed_email_job_queues_the_email_again(api_as, db, users, refused_smtp):
    failed = failed_email_job(db, users)

    response = api_as("admin").post(f"queues/failed/{failed.id}/retry")

    assert response.status_code == 200, response.json
    assert response.json["message"] == "The email “Quarterly review” is queued again."
    email = db.session.scalar(sa.select(OutboundEmail))
    db.session.refresh(email)
    assert (email.status, email.attempts) == ("queued", 0)
    assert [action for action, _ in audit_actions(db)] == ["job.retried", "email.resent"]
    assert queued_messages() == [("steward.send_email", (email.id,))]


def test_a_job_that_runs_on_its_own_schedule_cannot_be_retried(app, api_as, db, users, monkeypatch):
    failed = failed_housekeeping_job(app, db, monkeypatch)
    before = _state(db)

    response = api_as("admin").post(f"queues/failed/{failed.id}/retry")

    assert response.status_code == 409
    assert "cannot be retried from here" in response.json["error"]["message"]
    assert _state(db) == before


def test_a_failed_step_job_whose_step_succeeded_since_is_a_conflict(api_as, db, users):
    """The policy was fixed and its execution retried from its page: the job's work is done."""
    (failed,) = failed_step_jobs(db, users)
    execution = step_run_of(db, failed).execution
    factories.edit_policy(execution.policy_id, users["owner"], tags="privacy")
    with unit_of_work():
        operate.retry_execution(execution.id, actor_id=users["admin"].id)
    consume()
    assert step_run_of(db, failed).status == "succeeded"
    assert job(db, failed.id).status == "error"  # still listed until an operator clears it
    before = _state(db)

    response = api_as("admin").post(f"queues/failed/{failed.id}/retry")

    assert response.status_code == 409
    assert response.json["error"]["message"] == (
        "Step “mail” is succeeded now: there is nothing to retry. Discard the job to clear it."
    )
    assert _state(db) == before


@pytest.mark.parametrize("action", ["retry", "discard"])
def test_an_unknown_job_is_not_found(api_as, db, users, action):
    for job_id in (99999, 99999999999999999999999):
        response = api_as("admin").post(f"queues/failed/{job_id}/{action}", json={"reason": "Gone"})
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
    assert audit_actions(db) == []


# ------------------------------------------------------------------ discard


def test_discarding_a_failed_job_with_a_reason_fails_its_step_for_good(api_as, db, users):
    (failed,) = failed_step_jobs(db, users)
    reason = "The vendor list is retired; nobody needs this mail."
    client = api_as("admin")

    response = client.post(f"queues/failed/{failed.id}/discard", json={"reason": f" {reason} "})

    assert response.status_code == 200, response.json
    assert response.json["message"] == "Job discarded; the reason is in the audit trail."
    assert (response.json["job"]["status"], response.json["job"]["resolution"]) == (
        "discarded",
        reason,
    )
    record = job(db, failed.id)
    assert (record.status, record.resolved_by_id) == ("discarded", users["admin"].id)
    run = step_run_of(db, failed)
    assert run.status == "failed" and reason in run.error
    assert run.execution.status == "failed"
    assert queued_messages() == []
    assert audit_actions(db) == [("job.discarded", failed.id)]
    before = _state(db)

    for action, body in (("discard", {"reason": "Again"}), ("retry", None)):
        again = client.post(f"queues/failed/{failed.id}/{action}", json=body)
        assert again.status_code == 409, action
        assert "this one is discarded" in again.json["error"]["message"]
    assert _state(db) == before


@pytest.mark.parametrize(
    ("kwargs", "status", "fields"),
    [
        ({"json": {"reason": ""}}, 422, ["reason"]),
        ({"json": {"reason": "   "}}, 422, ["reason"]),
        ({"json": {}}, 422, ["reason"]),
        ({"json": {"reason": "x" * 501}}, 422, ["reason"]),
        ({"json": {"reason": "Old\x00"}}, 422, ["reason"]),
        ({"json": {"reason": "Old", "cascade": True}}, 422, ["cascade"]),
        ({"data": "reason=Old", "content_type": "application/json"}, 400, []),
        ({}, 422, [None]),
    ],
)
def test_a_bad_discard_body_is_refused_and_nothing_changes(
    api_as, db, users, kwargs, status, fields
):
    (failed,) = failed_step_jobs(db, users)
    before = _state(db)

    response = api_as("admin").request("POST", f"queues/failed/{failed.id}/discard", **kwargs)

    assert response.status_code == status, response.json
    assert [d["field"] for d in response.json["error"]["details"]] == fields
    assert _state(db) == before
