"""Execution pages through HTTP: the filtered list, the live timeline, cancel and retry, and the
admin's decide endpoint for approval steps. Workflows are built through the workflow service
and their steps run the way a consumer runs them (tests.factories.run_queued_steps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.approvals import service as approvals
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine import operate, start
from governance.engine.models import Execution, StepRun
from governance.tasks.models import Task
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import approval_requests, count_rows, make_workflow, run_queued_steps, step

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}
CREATED = {"type": "policy.created"}
ONE_TRY = {"attempts": 1, "backoff": "fixed", "base_seconds": 0}
TWO_TRIES = {"attempts": 2, "backoff": "fixed", "base_seconds": 0}
POLL = 'hx-trigger="every 2s"'


def _latest(db) -> Execution:
    db.session.expire_all()
    return db.session.scalars(sa.select(Execution).order_by(Execution.id.desc())).first()


def _request_for(db, user) -> ApprovalRequest:
    return next(r for r in approval_requests(db) if r.assignee_user_id == user.id)


def _task_workflow(users, name=None):
    return make_workflow(
        users["admin"],
        name=name,
        trigger=CREATED,
        stages=[
            [step("todo", "create_task", {"title": "Read {{ policy.title }}", "assignee": "owner"})]
        ],
    )


def _failing_workflow(users, name=None, retry=ONE_TRY):
    """A draft cannot be published directly: the set_status step fails for good."""
    return make_workflow(
        users["admin"],
        name=name,
        trigger=CREATED,
        stages=[[step("publish", "set_status", {"status": "published"}, retry=retry)]],
    )


def _review_workflow(users, approver_ids, rule="any"):
    """Stage 1 waits for an approval; stage 2 creates a task once it is approved."""
    return make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[
            [step("review", "approval", {"users": approver_ids, "rule": rule})],
            [step("follow_up", "create_task", {"title": "Publish it", "assignee": "owner"})],
        ],
    )


def _waiting_execution(db, users, submitter=None, approver_ids=None) -> Execution:
    """A policy submitted by `submitter` (the owner by default) waits for an approval."""
    submitter = submitter or users["owner"]
    _review_workflow(users, approver_ids or [users["admin"].id])
    policy = factories.make_policy(users["owner"])
    factories.policies.transition_policy(policy.id, "in_review", actor=submitter)
    run_queued_steps()
    execution = _latest(db)
    assert execution.status == "waiting"
    return execution


# A subject that divides by the number of the policy's tags: for a policy without tags every
# attempt raises ZeroDivisionError (a template bug meeting real data); tagging the policy
# fixes it, so a retry can then succeed.
PER_TAG_SUBJECT = "{{ 100 // policy.tags | length }}% per tag"


def _failed_mail_execution(db, users, retry=TWO_TRIES) -> Execution:
    make_workflow(
        users["admin"],
        trigger=CREATED,
        stages=[
            [step("mail", "notify", {"to_owner": True, "subject": PER_TAG_SUBJECT}, retry=retry)]
        ],
    )
    factories.make_policy(users["owner"], tags="")
    run_queued_steps()
    execution = _latest(db)
    assert execution.status == "failed"
    return execution


# ------------------------------------------------------------------ list


def test_execution_list_shows_newest_first_and_filters_by_workflow_status_policy_and_date(
    as_role, users, db
):
    tasks = _task_workflow(users, name="Tasks on create")
    _failing_workflow(users, name="Publish at once")
    first = factories.make_policy(users["owner"], title="First policy")
    second = factories.make_policy(users["owner"], title="Second policy")
    run_queued_steps()
    executions = db.session.scalars(sa.select(Execution).order_by(Execution.id)).all()
    assert len(executions) == 4
    by_key = {(e.workflow.name, e.policy_id): e.id for e in executions}
    client = as_role("owner")

    def rows(url: str) -> list[int]:
        html = client.get(url).get_data(as_text=True)
        return [e.id for e in executions if f'id="execution-row-{e.id}"' in html]

    html = client.get("/executions").get_data(as_text=True)
    positions = [html.index(f'id="execution-row-{e.id}"') for e in executions]
    assert positions == sorted(positions, reverse=True)  # newest first
    assert "Second policy" in html and "Tasks on create" in html

    assert rows(f"/executions?workflow={tasks.id}") == [
        by_key[("Tasks on create", first.id)],
        by_key[("Tasks on create", second.id)],
    ]
    assert rows("/executions?status=failed") == [
        by_key[("Publish at once", first.id)],
        by_key[("Publish at once", second.id)],
    ]
    assert rows(f"/executions?policy={second.id}&status=succeeded") == [
        by_key[("Tasks on create", second.id)]
    ]
    today = utcnow().date()
    assert len(rows(f"/executions?from={today}&to={today}")) == 4
    assert rows(f"/executions?from={today + timedelta(days=1)}") == []
    assert rows(f"/executions?to={today - timedelta(days=1)}") == []
    # An unknown status is ignored; a number or date that is not one is refused with the reason.
    assert len(rows("/executions?status=exploded")) == 4
    refused = client.get("/executions?from=31/02/2027")
    assert refused.status_code == 400
    assert "Enter the date as YYYY-MM-DD" in refused.get_data(as_text=True)
    assert client.get("/executions?policy=abc").status_code == 400


def test_execution_list_filters_are_served_as_a_fragment_to_htmx(as_role, users, db):
    _task_workflow(users)
    factories.make_policy(users["owner"])
    response = as_role("approver").get("/executions?status=pending", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="execution-results"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert "No executions match these filters." in html


def test_execution_list_uses_a_constant_number_of_queries(as_role, users, db, count_statements):
    client = as_role("admin")

    def statements_for(url: str) -> int:
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    workflow = _task_workflow(users)
    factories.make_policy(users["owner"])
    few = statements_for("/executions")
    actors = [users["owner"], users["other_owner"], users["admin"], None]
    for number in range(40):
        policy = factories.make_policy(users["other_owner"] if number % 2 else users["owner"])
        start.start_execution(
            workflow,
            policy_id=policy.id if number % 5 else None,
            trigger_type="manual",
            trigger_data={"number": number},
            actor_id=actors[number % 4].id if actors[number % 4] else None,
        )
        db.session.commit()
    many = statements_for("/executions")
    last_page = statements_for("/executions?page=2")
    filtered = statements_for(f"/executions?workflow={workflow.id}&status=running&page=2")
    assert few == many == last_page == filtered


def test_viewers_see_executions_of_published_policies_only(as_role, users, db):
    _task_workflow(users)
    draft = factories.make_policy(users["owner"], title="Secret draft")
    published = factories.make_policy(
        users["owner"], status="published", admin=users["admin"], title="Public one"
    )
    draft_execution = db.session.scalar(sa.select(Execution).where(Execution.policy_id == draft.id))
    client = as_role("viewer")
    html = client.get("/executions").get_data(as_text=True)
    assert "Secret draft" not in html
    assert "Public one" in html
    assert client.get(f"/executions/{draft_execution.id}").status_code == 404
    assert as_role("approver").get(f"/executions/{draft_execution.id}").status_code == 200
    assert published.id


def test_execution_pages_need_a_login(client, users, db):
    execution = _waiting_execution(db, users)
    for url in ("/executions", f"/executions/{execution.id}"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_unknown_execution_is_not_found(as_role, users, db):
    response = as_role("admin").get("/executions/99999")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


# ------------------------------------------------------------------ timeline


def test_timeline_groups_steps_by_stage_with_output_trigger_and_actor(as_role, users, db):
    make_workflow(
        users["admin"],
        trigger=CREATED,
        stages=[
            [
                step(
                    "todo", "create_task", {"title": "Read {{ policy.title }}", "assignee": "owner"}
                ),
                step("note", "notify", {"to_owner": True, "subject": "New: {{ policy.title }}"}),
            ],
            [step("later", "create_task", {"title": "Again", "assignee": "owner"})],
        ],
    )
    factories.make_policy(users["owner"], title="Travel")
    run_queued_steps()
    execution = _latest(db)
    html = as_role("owner").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert execution.status == "succeeded"
    assert html.index("Stage 1") < html.index("<code>todo</code>") < html.index("Stage 2")
    assert html.index("Stage 2") < html.index("<code>later</code>")
    assert "Create a task" in html and "Notify" in html
    assert '<th scope="row">title</th><td><span class="data-text">Read Travel</span>' in html
    assert "&#34;title&#34;: &#34;Read Travel&#34;" in html  # the raw JSON, escaped
    assert "Started by" in html and users["owner"].name in html
    assert "policy.created" in html
    assert POLL not in html


NESTED_OUTPUT = {
    "status": 200,
    "body": {"ticket": {"id": "SEC-7", "labels": ["pci", "urgent"]}, "accepted": True},
    "received_at": "2026-03-01T09:30:00+00:00",
    "note": None,
    "items": [{"sku": "A-1"}, {"sku": "B-2"}],
}


def _store_output(db, run_id: int, output) -> None:
    """An output as a webhook step leaves it (the response's parsed JSON body)."""
    db.session.execute(sa.update(StepRun).where(StepRun.id == run_id).values(output=output))
    db.session.commit()


def test_a_nested_output_reads_as_key_value_tables_with_the_raw_json_behind_a_toggle(
    as_role, users, db
):
    _task_workflow(users)
    factories.make_policy(users["owner"], title="Travel")
    run_queued_steps()
    run = _latest(db).step_runs[0]
    _store_output(db, run.id, NESTED_OUTPUT)

    html = as_role("owner").get(f"/executions/{run.execution_id}").get_data(as_text=True)

    output = html[html.index(f'aria-label="Output of {run.step_key}"') :]
    assert '<th scope="row">body</th><td><table class="data-table">' in output
    assert '<th scope="row">id</th><td><span class="data-text">SEC-7</span>' in output
    assert '<span class="data-text">pci, urgent</span>' in output  # a list of values, joined
    assert '<th scope="row">accepted</th><td>Yes</td>' in output
    assert '<th scope="row">note</th><td><span class="muted" title="No value">—</span>' in output
    assert '<time datetime="2026-03-01T09:30:00+00:00"' in output
    assert '<th scope="row">sku</th><td><span class="data-text">B-2</span>' in output
    assert "<summary>Raw JSON" in output
    assert "&#34;ticket&#34;: {" in output  # indented JSON inside <details>
    assert "<pre" not in output[: output.index("<summary>Raw JSON")]


def test_a_huge_output_is_cut_to_a_bounded_table(as_role, users, db):
    _task_workflow(users)
    factories.make_policy(users["owner"])
    run_queued_steps()
    run = _latest(db).step_runs[0]
    _store_output(db, run.id, {f"key{n:04d}": "x" * 500 for n in range(2000)})

    html = as_role("owner").get(f"/executions/{run.execution_id}").get_data(as_text=True)

    assert "key0049" in html and "key0050</th>" not in html
    assert "1950 more not shown" in html
    assert "more characters not shown" in html  # the raw JSON is cut too
    assert len(html) < 200_000


def test_timeline_shows_attempts_with_errors_and_tracebacks_only_to_admins(as_role, users, db):
    execution = _failed_mail_execution(db, users)
    admin_html = as_role("admin").get(f"/executions/{execution.id}").get_data(as_text=True)
    owner_html = as_role("owner").get(f"/executions/{execution.id}").get_data(as_text=True)
    run = execution.step_runs[0]
    for html in (admin_html, owner_html):
        assert [f'id="attempt-{a.id}"' in html for a in run.attempts] == [True, True]
        assert "ZeroDivisionError" in html
        assert "Retry" in html and "Failed" in html
        assert "2 of 2" in html
    assert "<summary>Traceback</summary>" in admin_html
    assert "Traceback (most recent call last)" in admin_html
    assert "Traceback (most recent call last)" not in owner_html
    assert "<summary>Traceback</summary>" not in owner_html


def test_timeline_never_shows_a_step_configs_secret(app, as_role, users, db):
    secret = "whsec-very-private-value-42"
    run = factories.step_run_that_saw_a_secret(app, users, secret)
    html = as_role("admin").get(f"/executions/{run.execution_id}").get_data(as_text=True)
    assert secret not in html
    assert "anything" not in html
    assert "signed with [hidden]" in html
    assert "refused: [hidden]" in html


def test_a_live_execution_polls_itself_and_a_finished_one_does_not(as_role, users, db):
    execution = _waiting_execution(db, users)
    client = as_role("owner")
    page = client.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert POLL in page
    assert f'hx-get="/executions/{execution.id}"' in page
    assert 'hx-swap="outerHTML"' in page
    assert "<html" in page

    fragment = client.get(f"/executions/{execution.id}", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith(f'<section id="execution-{execution.id}"')
    assert "<html" not in html and POLL in html
    assert "HX-Request" in fragment.headers["Vary"]
    # A boosted navigation wants the whole page.
    boosted = client.get(
        f"/executions/{execution.id}", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in boosted.get_data(as_text=True)

    with unit_of_work():
        operate.cancel_execution(execution.id, actor_id=users["admin"].id)
    finished = client.get(f"/executions/{execution.id}", headers={"HX-Request": "true"})
    html = finished.get_data(as_text=True)
    assert f'<section id="execution-{execution.id}"' in html
    assert "hx-trigger" not in html
    assert "Cancelled" in html


def test_approval_steps_show_decisions_with_who_when_and_comment(as_role, users, db):
    execution = _waiting_execution(
        db, users, approver_ids=[users["security"].id, users["admin"].id]
    )
    approvals.record_decision(
        _request_for(db, users["security"]).id,
        user=users["security"],
        decision="rejected",
        comment="Not yet",
    )
    html = as_role("owner").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert _latest(db).status == "rejected"
    decisions = html[html.index("<h4>Decisions</h4>") :]
    assert users["security"].name in decisions
    assert "<blockquote>Not yet</blockquote>" in decisions
    assert "Rejected" in decisions and "<time" in decisions
    assert "No longer asked: " + users["admin"].name in html  # the other request was withdrawn


def test_pending_approval_lists_its_assignees(as_role, users, db):
    legal = users["approver"].groups[0]
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[
            [
                step(
                    "review",
                    "approval",
                    {"users": [users["security"].id], "groups": [legal.id], "rule": "all"},
                )
            ]
        ],
    )
    policy = factories.make_policy(users["owner"])
    factories.policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    run_queued_steps()
    execution = _latest(db)
    html = as_role("approver").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert "Waiting for" in html
    assert users["security"].name in html
    assert "Legal (group)" in html
    # The approver may decide the Legal request only: one form, for that request.
    legal_request, security_request = sorted(
        db.session.scalars(sa.select(ApprovalRequest)), key=lambda r: r.assignee_group_id is None
    )
    assert html.count("/decide") == 1
    assert f"/approvals/{legal_request.id}/decide" in html
    assert f"/approvals/{security_request.id}/decide" not in html
    # The owner submitted the change: no decision form, but a reminder button.
    owner_html = as_role("owner").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert "/decide" not in owner_html
    assert f"/approvals/{legal_request.id}/remind" in owner_html


# ------------------------------------------------------------------ cancel and retry


@pytest.mark.parametrize("action", ["cancel", "retry"])
@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_may_cancel_or_retry(as_role, users, db, role, action):
    execution = _waiting_execution(db, users)
    client = as_role(role)
    response = client.post(
        f"/executions/{execution.id}/{action}",
        data={"csrf_token": client.csrf_token("/account"), "reason": "Because"},
    )
    assert response.status_code == 403
    assert _latest(db).status == "waiting"
    assert count_rows(db, AuditEvent, AuditEvent.action.like("execution.%")) == 0


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_anonymous_cancel_or_retry_is_sent_to_login(client, users, db, action):
    execution = _waiting_execution(db, users)
    response = client.post(
        f"/executions/{execution.id}/{action}", data={"csrf_token": client.csrf_token("/login")}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert _latest(db).status == "waiting"


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_cancel_or_retry_without_a_valid_csrf_token_is_refused(as_role, users, db, action):
    execution = _waiting_execution(db, users)
    client = as_role("admin")
    missing = client.post(f"/executions/{execution.id}/{action}", data={"reason": "x"})
    forged = client.post(f"/executions/{execution.id}/{action}", data={"csrf_token": "forged"})
    assert missing.status_code == forged.status_code == 400
    assert "CSRF" in missing.get_data(as_text=True)
    assert _latest(db).status == "waiting"


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_cancel_or_retry_of_an_unknown_execution_is_not_found(as_role, users, db, action):
    client = as_role("admin")
    response = client.submit(f"/executions/99999/{action}", token_from="/account")
    assert response.status_code == 404


def test_cancel_is_only_a_post(as_role, users, db):
    execution = _waiting_execution(db, users)
    assert as_role("admin").get(f"/executions/{execution.id}/cancel").status_code == 405


def test_admin_cancels_a_live_execution_with_a_reason(as_role, users, db):
    execution = _waiting_execution(db, users)
    client = as_role("admin")
    page = client.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert f'action="/executions/{execution.id}/cancel"' in page
    assert f'action="/executions/{execution.id}/retry"' not in page

    response = client.submit(
        f"/executions/{execution.id}/cancel",
        {"reason": "Submitted by mistake"},
        token_from=f"/executions/{execution.id}",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Execution {execution.id} cancelled" in html
    execution = _latest(db)
    assert (execution.status, execution.error) == ("cancelled", "Submitted by mistake")
    assert {r.status for r in approval_requests(db)} == {"cancelled"}
    assert count_rows(db, AuditEvent, AuditEvent.action == "execution.cancelled") == 1
    assert f'action="/executions/{execution.id}/cancel"' not in html


def test_cancelling_a_finished_execution_is_refused_with_a_message(as_role, users, db):
    _task_workflow(users)
    factories.make_policy(users["owner"])
    run_queued_steps()
    execution = _latest(db)
    response = as_role("admin").submit(
        f"/executions/{execution.id}/cancel", token_from="/account", follow_redirects=True
    )
    assert "already ended (succeeded)" in response.get_data(as_text=True)
    assert _latest(db).status == "succeeded"
    assert count_rows(db, AuditEvent, AuditEvent.action == "execution.cancelled") == 0


def test_too_long_cancel_reason_is_refused_and_nothing_changes(as_role, users, db):
    execution = _waiting_execution(db, users)
    response = as_role("admin").submit(
        f"/executions/{execution.id}/cancel",
        {"reason": "x" * 501},
        token_from="/account",
        follow_redirects=True,
    )
    assert "Keep the reason under 500 characters." in response.get_data(as_text=True)
    assert _latest(db).status == "waiting"


def test_admin_retries_a_failed_execution_from_its_failed_step(app, as_role, users, db):
    execution = _failed_mail_execution(db, users, retry=ONE_TRY)
    client = as_role("admin")
    page = client.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert f'action="/executions/{execution.id}/retry"' in page
    assert POLL not in page

    factories.edit_policy(
        execution.policy_id, users["owner"], tags="privacy"
    )  # the data the step needs is there
    response = client.submit(
        f"/executions/{execution.id}/retry", token_from="/account", follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert f"Execution {execution.id} restarted from 1 step." in html
    assert POLL in html  # live again
    assert _latest(db).status == "running"
    assert count_rows(db, AuditEvent, AuditEvent.action == "execution.retried") == 1
    run_queued_steps()
    assert _latest(db).status == "succeeded"


def test_retrying_an_execution_that_did_not_fail_is_refused(as_role, users, db):
    execution = _waiting_execution(db, users)
    response = as_role("admin").submit(
        f"/executions/{execution.id}/retry", token_from="/account", follow_redirects=True
    )
    assert "Only a failed execution can be retried." in response.get_data(as_text=True)
    assert _latest(db).status == "waiting"


# ------------------------------------------------------------------ decide (execution page)


def _decide(client, request_id: int, decision: str, comment: str = "", **kwargs):
    return client.submit(
        f"/approvals/{request_id}/decide",
        {"decision": decision, "comment": comment},
        token_from="/account",
        **kwargs,
    )


def test_admin_approves_and_the_execution_advances(as_role, users, db):
    execution = _waiting_execution(db, users)
    request = approval_requests(db)[0]
    client = as_role("admin")
    page = client.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert f'action="/approvals/{request.id}/decide"' in page

    response = _decide(client, request.id, "approved", "Looks right")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/executions/{execution.id}")
    assert approval_requests(db)[0].status == "approved"
    run_queued_steps()
    assert _latest(db).status == "succeeded"
    assert db.session.scalar(sa.select(Task.title)) == "Publish it"
    html = client.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert "Looks right" in html and users["admin"].name in html
    assert "/decide" not in html


def test_admin_who_triggered_the_change_gets_four_eyes_refusal(as_role, users, db):
    second_admin = factories.make_user("admin", email="admin2@example.test")
    execution = _waiting_execution(
        db, users, submitter=users["admin"], approver_ids=[users["admin"].id, second_admin.id]
    )
    request = _request_for(db, users["admin"])  # the admin who submitted the change
    client = as_role("admin")
    page = client.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert "/decide" not in page  # no button for the submitter

    response = _decide(client, request.id, "approved")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "four-eyes" in html
    assert {r.status for r in approval_requests(db)} == {"pending"}
    assert _latest(db).status == "waiting"


def test_deciding_twice_says_already_decided(as_role, users, db):
    _waiting_execution(db, users, approver_ids=[users["admin"].id, users["security"].id])
    request = _request_for(db, users["admin"])
    client = as_role("admin")
    assert _decide(client, request.id, "approved").status_code == 303
    response = _decide(client, request.id, "rejected", "Changed my mind", follow_redirects=True)
    assert "already been decided" in response.get_data(as_text=True)
    assert _request_for(db, users["admin"]).status == "approved"
    assert count_rows(db, AuditEvent, AuditEvent.action.like("approval.%")) == 1


def test_rejecting_without_a_comment_is_refused_and_nothing_changes(as_role, users, db):
    execution = _waiting_execution(db, users)
    request = approval_requests(db)[0]
    response = _decide(as_role("admin"), request.id, "rejected", "  ", follow_redirects=True)
    assert "Give a reason to reject." in response.get_data(as_text=True)
    assert approval_requests(db)[0].status == "pending"
    assert _latest(db).status == "waiting"
    assert execution.id == _latest(db).id


def test_admin_rejects_with_a_comment_and_the_execution_ends_rejected(as_role, users, db):
    _waiting_execution(db, users)
    request = approval_requests(db)[0]
    response = _decide(
        as_role("admin"), request.id, "rejected", "Scope is wrong", follow_redirects=True
    )
    assert "Rejected." in response.get_data(as_text=True)
    assert _latest(db).status == "rejected"


def test_an_unknown_decision_is_refused(as_role, users, db):
    _waiting_execution(db, users)
    request = approval_requests(db)[0]
    response = _decide(as_role("admin"), request.id, "maybe", follow_redirects=True)
    assert "Decide approve or reject." in response.get_data(as_text=True)
    assert approval_requests(db)[0].status == "pending"


@pytest.mark.parametrize("role", ["admin", "security", "viewer"])
def test_only_the_assignee_may_decide_not_even_an_admin(as_role, users, db, role):
    _waiting_execution(db, users, approver_ids=[users["approver"].id])
    request = approval_requests(db)[0]
    response = _decide(as_role(role), request.id, "approved")
    if role == "viewer":
        # A viewer may not read a change under review, so its request does not exist for them.
        assert response.status_code == 404
    else:
        assert response.status_code == 403
        assert "not assigned to you" in response.get_data(as_text=True)
    assert approval_requests(db)[0].status == "pending"
    assert _decide(as_role("approver"), request.id, "approved").status_code == 303
    assert approval_requests(db)[0].status == "approved"


def test_decide_needs_a_login_a_csrf_token_and_a_known_request(client, as_role, users, db):
    _waiting_execution(db, users)
    request = approval_requests(db)[0]
    anonymous = client.post(
        f"/approvals/{request.id}/decide",
        data={"decision": "approved", "csrf_token": client.csrf_token("/login")},
    )
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
    admin = as_role("admin")
    forged = admin.post(
        f"/approvals/{request.id}/decide", data={"decision": "approved", "csrf_token": "x"}
    )
    assert forged.status_code == 400
    assert _decide(admin, 99999, "approved").status_code == 404
    assert approval_requests(db)[0].status == "pending"


# ------------------------------------------------------------------ policy page


def test_policy_page_lists_its_latest_executions(as_role, users, db):
    workflow = _task_workflow(users, name="Read it")
    policy = factories.make_policy(users["owner"], title="Listed")
    other = factories.make_policy(users["owner"], title="Other")
    run_queued_steps()
    mine = db.session.scalar(sa.select(Execution.id).where(Execution.policy_id == policy.id))
    theirs = db.session.scalar(sa.select(Execution.id).where(Execution.policy_id == other.id))
    html = as_role("owner").get(f"/policies/{policy.id}").get_data(as_text=True)
    assert f'id="policy-execution-{mine}"' in html
    assert f'id="policy-execution-{theirs}"' not in html
    assert workflow.name in html and "Succeeded" in html
    assert f"/executions?policy={policy.id}" in html
