"""The outbound webhook step against a real HTTP receiver on 127.0.0.1: the method, headers
and body template it is configured with, the status codes that decide its outcome, the answer
that becomes its output, the delivery log of every request, its retention, and an admin's
redelivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.engine.jobs import execute_step
from governance.engine.lifecycle import RunOutcome
from governance.engine.models import Execution, StepRun, WorkflowVersion
from governance.queues import housekeeping
from governance.timeutil import utcnow
from governance.webhooks.models import WebhookDelivery
from governance.workflows import service as workflows
from tests import factories

TOKEN = "Bearer s3cr3t-token-4711"
NO_WAIT = {"attempts": 3, "backoff": "fixed", "base_seconds": 0}


def _workflow(admin, *stages, name="Tell the ticket system"):
    return factories.make_workflow(
        admin, name=name, trigger={"type": "manual"}, stages=[list(stage) for stage in stages]
    )


def _hook(url, key="hook", **config):
    retry = config.pop("retry", NO_WAIT)
    return factories.step(key, "webhook", {"url": url, **config}, retry=retry)


def _run(db, workflow, users, title="Access control") -> Execution:
    policy = factories.make_policy(users["owner"], title=title)
    execution_id = workflows.run_manually(workflow.id, policy_id=policy.id, actor=users["admin"])
    factories.run_queued_steps()
    db.session.expire_all()
    return db.session.get_one(Execution, execution_id)


def _step_run(db, execution, key="hook") -> StepRun:
    return db.session.scalars(
        sa.select(StepRun).where(StepRun.execution_id == execution.id, StepRun.step_key == key)
    ).one()


def _deliveries(db, step_run) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.step_run_id == step_run.id)
            .order_by(WebhookDelivery.id)
        )
    )


def test_the_method_headers_and_body_template_are_sent_as_configured(
    loopback_webhooks, db, users, receiver
):
    headers = [
        {"name": "X-Team", "value": "grc"},
        {"name": "Authorization", "value": TOKEN, "secret": True},
    ]
    body = '{\n  "title": {{ policy.title | tojson }},\n  "kind": "review"\n}'
    workflow = _workflow(
        users["admin"], [_hook(receiver.url("/tickets"), method="PUT", headers=headers, body=body)]
    )

    execution = _run(db, workflow, users)

    assert execution.status == "succeeded"
    [request] = receiver.requests
    assert request.method == "PUT"
    assert request.path == "/tickets"
    assert json.loads(request.body) == {"title": "Access control", "kind": "review"}
    assert request.headers["x-team"] == "grc"
    assert request.headers["authorization"] == TOKEN
    assert request.headers["content-type"] == "application/json"
    run = _step_run(db, execution)
    assert request.headers["webhook-id"] == request.headers["idempotency-key"]
    assert request.headers["webhook-id"] == f"steward-step-run-{run.id}"


def test_a_get_sends_no_body(loopback_webhooks, db, users, receiver):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/status"), method="GET")])

    execution = _run(db, workflow, users)

    assert execution.status == "succeeded"
    [request] = receiver.requests
    assert (request.method, request.body) == ("GET", b"")
    assert "content-type" not in request.headers


def test_a_version_saved_with_only_a_url_posts_the_default_payload(
    loopback_webhooks, db, users, receiver
):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/steward"))])
    version = db.session.scalars(
        sa.select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
    ).one()
    # As saved before the step had a method, headers, a body or expected codes.
    definition = json.loads(json.dumps(version.definition))
    definition["stages"][0]["steps"][0]["config"] = {
        "url": receiver.url("/steward"),
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
    }
    version.definition = definition
    db.session.commit()

    execution = _run(db, workflow, users)

    assert execution.status == "succeeded"
    [request] = receiver.requests
    assert request.method == "POST"
    payload = json.loads(request.body)
    assert set(payload) == {"id", "execution_id", "step", "policy", "trigger", "steps", "links"}
    assert payload["policy"]["title"] == "Access control"


def test_the_expected_codes_decide_success_and_failure(loopback_webhooks, db, users, receiver):
    only_201 = _workflow(users["admin"], [_hook(receiver.url("/a"), expected_status="201")])
    receiver.answer(200)
    refused = _run(db, only_201, users)

    listed = _workflow(
        users["admin"], [_hook(receiver.url("/b"), expected_status="200, 201, 204")], name="B"
    )
    receiver.answer(201)
    accepted = _run(db, listed, users)

    assert refused.status == "failed"
    assert "HTTP 200 from" in _step_run(db, refused).error
    assert len(receiver.requests) == 2  # a 200 that is not expected is not retried
    assert accepted.status == "succeeded"
    assert _step_run(db, accepted).output["status"] == 201


def test_the_json_answer_becomes_the_output_and_a_later_step_reads_it(
    loopback_webhooks, db, users, receiver
):
    answer = {"ticket": {"id": "T-42", "queue": "grc"}}
    receiver.answer(
        201, json.dumps(answer).encode(), **{"Content-Type": "application/json; charset=utf-8"}
    )
    later = _hook(
        receiver.url("/comment"),
        key="comment",
        body='{"ticket": {{ steps.hook.output.response.ticket.id | tojson }}}',
        when={"field": "steps.hook.output.response.ticket.queue", "op": "equals", "value": "grc"},
    )
    workflow = _workflow(
        users["admin"], [_hook(receiver.url("/tickets"), expected_status="201")], [later]
    )

    execution = _run(db, workflow, users)

    assert execution.status == "succeeded"
    first = _step_run(db, execution)
    assert first.output["response"] == answer
    assert first.output["status"] == 201
    assert set(first.output) == {"status", "elapsed_ms", "id", "response"}
    assert json.loads(receiver.requests[1].body) == {"ticket": "T-42"}


def test_a_text_answer_becomes_the_output_as_text(loopback_webhooks, db, users, receiver):
    receiver.answer(200, b"accepted, thanks", **{"Content-Type": "text/plain"})
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"))])

    execution = _run(db, workflow, users)

    assert _step_run(db, execution).output["response"] == "accepted, thanks"


def test_every_attempt_is_logged_once_with_its_secret_headers_hidden(
    loopback_webhooks, db, users, receiver
):
    receiver.answer(503, b"busy")
    headers = [{"name": "Authorization", "value": TOKEN, "secret": True}]
    body = '{"title": {{ policy.title | tojson }}}'
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"), headers=headers, body=body)])

    execution = _run(db, workflow, users)

    assert execution.status == "succeeded"
    run = _step_run(db, execution)
    first, second = _deliveries(db, run)
    assert (first.attempt, first.outcome, first.response_status) == (1, "retry", 503)
    assert (second.attempt, second.outcome, second.response_status) == (2, "succeeded", 204)
    assert first.response_body == "busy"
    assert first.error == f"HTTP 503 from {receiver.url('/hook')}"
    for delivery in (first, second):
        assert not delivery.is_redelivery
        assert delivery.method == "POST"
        assert delivery.url == receiver.url("/hook")
        assert delivery.request_body == '{"title": "Access control"}'
        assert delivery.request_headers["authorization"] == "[hidden]"
        assert delivery.request_headers["webhook-id"] == f"steward-step-run-{run.id}"
        assert TOKEN not in json.dumps(delivery.request_headers)
        assert delivery.duration_ms >= 0


def test_a_duplicate_message_for_a_finished_step_logs_nothing_more(
    loopback_webhooks, db, users, receiver
):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"))])
    run = _step_run(db, _run(db, workflow, users))

    assert execute_step(run.id) == RunOutcome.NOT_CLAIMED

    assert len(receiver.requests) == 1
    assert len(_deliveries(db, run)) == 1


def test_a_refused_destination_is_logged_as_a_failed_delivery(
    loopback_webhooks, db, users, app, receiver
):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"))])
    app.config["WEBHOOK_ALLOWLIST"] = []  # allowed when saved, refused when sent

    execution = _run(db, workflow, users)

    assert execution.status == "failed"
    [delivery] = _deliveries(db, _step_run(db, execution))
    assert delivery.outcome == "failed"
    assert delivery.response_status is None
    assert "public addresses" in delivery.error
    assert receiver.requests == []


def test_deliveries_older_than_the_job_retention_are_pruned(
    loopback_webhooks, db, users, receiver, app
):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"))])
    run = _step_run(db, _run(db, workflow, users))
    [kept] = _deliveries(db, run)
    old = WebhookDelivery(
        step_run_id=run.id,
        attempt=None,
        is_redelivery=True,
        method="POST",
        url=kept.url,
        outcome="succeeded",
        created_at=utcnow() - timedelta(days=app.config["JOB_RETENTION_DAYS"] + 1),
    )
    db.session.add(old)
    db.session.commit()

    removed = housekeeping.prune(utcnow())

    assert removed["webhook_deliveries"] == 1
    db.session.expire_all()
    assert [delivery.id for delivery in _deliveries(db, run)] == [kept.id]


# ------------------------------------------------------------------ the execution page


def test_the_execution_page_lists_the_deliveries_escaped_and_without_secrets(
    loopback_webhooks, db, users, receiver, as_role
):
    receiver.answer(200, b"<script>alert(1)</script>", **{"Content-Type": "text/html"})
    headers = [{"name": "Authorization", "value": TOKEN, "secret": True}]
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"), headers=headers)])
    execution = _run(db, workflow, users)
    run = _step_run(db, execution)

    admin_page = as_role("admin").get(f"/executions/{execution.id}").get_data(as_text=True)
    owner_page = as_role("owner").get(f"/executions/{execution.id}").get_data(as_text=True)

    assert f'id="deliveries-{run.id}"' in admin_page
    assert "HTTP 200" in admin_page and "Attempt 1" in admin_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in admin_page
    assert "<script>alert(1)</script>" not in admin_page
    assert TOKEN not in admin_page and "s3cr3t" not in admin_page
    assert f"/webhooks/step-runs/{run.id}/redeliver" in admin_page
    # The policy's owner reads the execution and its deliveries, without the admin's button.
    assert f'id="deliveries-{run.id}"' in owner_page
    assert f"/webhooks/step-runs/{run.id}/redeliver" not in owner_page


def test_only_an_admin_may_redeliver(loopback_webhooks, db, users, receiver, as_role):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"))])
    execution = _run(db, workflow, users)
    run = _step_run(db, execution)
    owner = as_role("owner")

    refused = owner.submit(
        f"/webhooks/step-runs/{run.id}/redeliver", token_from=f"/executions/{execution.id}"
    )

    assert refused.status_code == 403
    assert len(receiver.requests) == 1
    assert len(_deliveries(db, run)) == 1


def test_a_redelivery_without_the_csrf_token_sends_nothing(
    loopback_webhooks, db, users, receiver, as_role
):
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"))])
    run = _step_run(db, _run(db, workflow, users))

    answer = as_role("admin").post(f"/webhooks/step-runs/{run.id}/redeliver", data={})

    assert answer.status_code == 400
    assert len(receiver.requests) == 1
    assert len(_deliveries(db, run)) == 1


def test_an_admin_redelivers_the_same_request_freshly_signed_and_audited(
    loopback_webhooks, db, users, receiver, as_role
):
    headers = [{"name": "Authorization", "value": TOKEN, "secret": True}]
    body = '{"title": {{ policy.title | tojson }}}'
    workflow = _workflow(users["admin"], [_hook(receiver.url("/hook"), headers=headers, body=body)])
    execution = _run(db, workflow, users)
    run = _step_run(db, execution)
    output_before = dict(run.output)
    receiver.answer(202)

    answer = as_role("admin").submit(
        f"/webhooks/step-runs/{run.id}/redeliver", token_from=f"/executions/{execution.id}"
    )

    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/executions/{execution.id}#deliveries-{run.id}")
    original, again = receiver.requests
    assert again.body == original.body
    assert again.headers["webhook-id"] == original.headers["webhook-id"]
    assert again.headers["idempotency-key"] == original.headers["idempotency-key"]
    assert again.headers["authorization"] == TOKEN
    db.session.expire_all()
    secret = db.session.get_one(Execution, execution.id).workflow.signing_secret
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{again.headers['webhook-id']}.{again.headers['webhook-timestamp']}.".encode()
    digest = hmac.new(key, signed + again.body, hashlib.sha256).digest()
    assert again.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    _, redelivered = _deliveries(db, run)
    assert redelivered.is_redelivery and redelivered.attempt is None
    assert redelivered.redelivered_by_id == users["admin"].id
    assert (redelivered.response_status, redelivered.outcome) == (202, "succeeded")
    assert redelivered.request_headers["authorization"] == "[hidden]"
    refreshed = db.session.get_one(StepRun, run.id)
    assert (refreshed.status, refreshed.attempt, refreshed.output) == (
        "succeeded",
        1,
        output_before,
    )
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "webhook.redelivered")
    ).one()
    assert (event.object_type, event.object_id) == ("execution", execution.id)
    assert event.actor_id == users["admin"].id
    assert event.changes["delivery_id"] == redelivered.id
    page = as_role("admin").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert "Redelivered by" in page
