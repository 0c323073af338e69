"""The queue page (/admin/queues) over real job records: who may see and use it, CSRF on its
forms, retry, discard and bulk retry of failed jobs, the failed list and job detail, and the
figures the page and its live fragment show.

Job records come through the real Huey path: workflow steps and emails are enqueued by the
services, then taken off the test's own queue and executed the way a consumer does
(`huey.dequeue()`, `huey.execute(task)`), so Huey's signals feed the recorder.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.extensions import huey
from governance.queues.models import JobRecord
from governance.timeutil import utcnow
from tests import factories
from tests.jobs import (
    consume,
    failed_email_job,
    failed_step_jobs,
    job,
    jobs_where,
    per_tag_workflow,
    queued_messages,
    step_run_of,
)

ROLES_REFUSED = ["owner", "approver", "viewer"]


def audit_events(db, action_prefix: str = "job.") -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.startswith(action_prefix))
            .order_by(AuditEvent.id)
        )
    )


def figure(html: str, name: str) -> str:
    match = re.search(rf'<dd id="figure-{name}">([^<]*)', html)
    assert match, f"no figure {name} on the page"
    return match.group(1).strip()


def endpoints(job_id: int) -> list[tuple[str, str, dict]]:
    """Every monitor endpoint: (method, url, form data)."""
    return [
        ("GET", "/admin/queues", {}),
        ("GET", "/admin/queues/live", {}),
        ("GET", "/admin/queues/workflows", {}),
        ("GET", "/admin/queues/failed", {}),
        ("GET", f"/admin/queues/jobs/{job_id}", {}),
        ("POST", f"/admin/queues/jobs/{job_id}/retry", {}),
        ("POST", f"/admin/queues/jobs/{job_id}/discard", {"reason": "Not needed"}),
        ("POST", "/admin/queues/failed/retry", {"job_ids": [str(job_id)]}),
    ]


def assert_job_untouched(db, record: JobRecord) -> None:
    assert job(db, record.id).status == "error"
    assert audit_events(db) == []
    assert step_run_of(db, record).status == "failed"
    assert step_run_of(db, record).execution.status == "failed"
    assert queued_messages() == []


# ------------------------------------------------------------------ who may use the page


@pytest.mark.parametrize("role", ROLES_REFUSED)
def test_non_admins_are_refused_every_monitor_endpoint_with_or_without_htmx(
    as_role, db, users, role
):
    (failed,) = failed_step_jobs(db, users)
    client = as_role(role)
    token = client.csrf_token("/account")

    for method, url, data in endpoints(failed.id):
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            if method == "GET":
                response = client.get(url, headers=headers)
            elif htmx:  # htmx sends the token as a header
                response = client.post(url, data=data, headers=headers | {"X-CSRFToken": token})
            else:
                response = client.post(url, data=data | {"csrf_token": token})
            assert response.status_code == 403, (role, method, url, htmx)
            assert "You do not have permission to do that." in response.get_data(as_text=True)

    assert_job_untouched(db, failed)


def test_anonymous_visitors_are_sent_to_login_from_every_monitor_endpoint(client, db, users):
    (failed,) = failed_step_jobs(db, users)
    token = client.csrf_token("/login")

    for method, url, data in endpoints(failed.id):
        for headers in ({}, {"HX-Request": "true"}):
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, data=data | {"csrf_token": token}, headers=headers)
            if headers:
                # A fragment request is sent to the login page as a whole page, never swapped.
                assert response.status_code == 401, (method, url, headers)
                assert response.headers["HX-Redirect"].startswith("/login")
            else:
                assert response.status_code == 302, (method, url, headers)
                assert response.headers["Location"].startswith("/login")

    assert_job_untouched(db, failed)


def test_queue_page_posts_without_a_csrf_token_are_refused_and_change_nothing(as_role, db, users):
    (failed,) = failed_step_jobs(db, users)
    admin = as_role("admin")
    posts = [(url, data) for method, url, data in endpoints(failed.id) if method == "POST"]

    for url, data in posts:
        for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "X-CSRFToken": "x"}):
            response = admin.post(url, data=data, headers=headers)
            assert response.status_code == 400, (url, headers)
            assert "CSRF" in response.get_data(as_text=True)

    assert_job_untouched(db, failed)
    # The same admin with the page's token is let through: the 400s were CSRF, not the role.
    assert (
        admin.submit(posts[0][0], token_from=f"/admin/queues/jobs/{failed.id}").status_code == 303
    )


# ------------------------------------------------------------------ retry, discard, bulk retry


def test_retrying_a_failed_step_job_from_the_page_restarts_its_execution(as_role, db, users):
    (failed,) = failed_step_jobs(db, users)
    admin = as_role("admin")
    page = f"/admin/queues/jobs/{failed.id}"

    response = admin.submit(f"{page}/retry", token_from=page)

    assert response.status_code == 303
    assert response.headers["Location"] == page
    html = admin.get(page).get_data(as_text=True)
    assert "Job retried." in html
    run = step_run_of(db, failed)
    assert f"Execution {run.execution_id} restarts from step “mail”." in html
    record = job(db, failed.id)
    assert (record.status, record.resolved_by_id) == ("retried", users["admin"].id)
    assert run.status == "queued"
    assert run.execution.status == "running"
    assert queued_messages() == [("steward.run_step", (run.id,))]
    [event] = audit_events(db)
    assert (event.action, event.object_id, event.actor_id) == (
        "job.retried",
        failed.id,
        users["admin"].id,
    )
    assert [event.action for event in audit_events(db, "execution.retried")] == [
        "execution.retried"
    ]

    again = admin.submit(f"{page}/retry", token_from=page, follow_redirects=True)

    assert "Only a failed job can be retried; this one is retried." in again.get_data(as_text=True)
    assert job(db, failed.id).status == "retried"
    assert queued_messages() == [("steward.run_step", (run.id,))]
    assert len(audit_events(db)) == 1
    # The retried work is a new job of its own; the operator's job stays "retried".
    consume()
    assert [record.status for record in jobs_where(db, JobRecord.step_run_id == run.id)] == [
        "retried",
        "error",
    ]


def test_discarding_a_failed_job_needs_a_reason_and_changes_nothing_without_one(as_role, db, users):
    (failed,) = failed_step_jobs(db, users)
    admin = as_role("admin")
    page = f"/admin/queues/jobs/{failed.id}"
    error_before = step_run_of(db, failed).error

    for reason in ("", "   "):
        response = admin.submit(f"{page}/discard", {"reason": reason}, token_from=page)

        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "Say why the job is discarded." in html
        assert 'aria-invalid="true"' in html
        assert_job_untouched(db, failed)
        assert step_run_of(db, failed).error == error_before


def test_discarding_a_failed_job_with_a_reason_fails_its_step_for_good(as_role, db, users):
    (failed,) = failed_step_jobs(db, users)
    admin = as_role("admin")
    page = f"/admin/queues/jobs/{failed.id}"
    reason = "The vendor list is retired; nobody needs this mail."

    response = admin.submit(f"{page}/discard", {"reason": reason}, token_from=page)

    assert response.status_code == 303
    assert response.headers["Location"] == page
    html = admin.get(page).get_data(as_text=True)
    assert "Job discarded" in html and reason in html
    record = job(db, failed.id)
    assert (record.status, record.resolution) == ("discarded", reason)
    assert record.resolved_by_id == users["admin"].id
    run = step_run_of(db, failed)
    assert run.status == "failed"
    assert reason in run.error
    assert run.execution.status == "failed"
    assert queued_messages() == []
    [event] = audit_events(db)
    assert (event.action, event.object_id) == ("job.discarded", failed.id)
    assert event.changes["reason"] == reason
    assert reason in event.summary
    # A discarded job is no longer failed: neither retry nor a second discard applies.
    assert admin.submit(f"{page}/retry", token_from=page).status_code == 303
    assert job(db, failed.id).status == "discarded"
    assert len(audit_events(db)) == 1


def test_bulk_retry_retries_the_failed_jobs_and_names_the_one_already_retried(as_role, db, users):
    first, second, third = failed_step_jobs(db, users, count=3)
    admin = as_role("admin")
    third_page = f"/admin/queues/jobs/{third.id}"
    assert admin.submit(f"{third_page}/retry", token_from=third_page).status_code == 303

    response = admin.submit(
        "/admin/queues/failed/retry",
        {"job_ids": [str(first.id), str(second.id), str(third.id)]},
        token_from="/admin/queues/failed",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/queues/failed"
    html = admin.get("/admin/queues/failed").get_data(as_text=True)
    assert "Retried 2 jobs." in html
    assert (
        f"Job {third.id} was not retried: Only a failed job can be retried; "
        "this one is retried." in html
    )
    assert "Retried 3 jobs." not in html
    assert [job(db, record.id).status for record in (first, second, third)] == ["retried"] * 3
    assert sorted(event.object_id for event in audit_events(db)) == [
        first.id,
        second.id,
        third.id,
    ]
    runs = [step_run_of(db, record) for record in (first, second, third)]
    assert {run.execution.status for run in runs} == {"running"}
    assert queued_messages() == sorted(("steward.run_step", (run.id,)) for run in runs)
    assert "No failed jobs." in html


# ------------------------------------------------------------------ failed list and detail


def listed_job_ids(html: str) -> list[int]:
    return sorted(int(found) for found in re.findall(r'id="job-row-(\d+)"', html))


def test_failed_list_filters_by_task_name_and_failure_time(as_role, db, users, refused_smtp):
    old, recent = failed_step_jobs(db, users, count=2)
    email_job = failed_email_job(db, users)
    db.session.execute(
        sa.update(JobRecord)
        .where(JobRecord.id == old.id)
        .values(finished_at=utcnow() - timedelta(days=2))
    )
    db.session.commit()
    admin = as_role("admin")

    def listed(query: str = "", **headers) -> list[int]:
        response = admin.get(f"/admin/queues/failed{query}", headers=headers)
        assert response.status_code == 200
        return listed_job_ids(response.get_data(as_text=True))

    assert listed() == sorted([old.id, recent.id, email_job.id])
    assert listed("?task=steward.send_email") == [email_job.id]
    assert listed("?task=steward.run_step") == sorted([old.id, recent.id])
    assert listed("?since=24h") == sorted([recent.id, email_job.id])
    assert listed("?since=7d") == sorted([old.id, recent.id, email_job.id])
    assert listed("?task=steward.run_step&since=1h") == [recent.id]
    assert listed("?task=steward.nothing") == []
    partial = admin.get(
        "/admin/queues/failed?task=steward.send_email", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in partial
    assert listed_job_ids(partial) == [email_job.id]
    # The task filter offers the names that have failed jobs.
    html = admin.get("/admin/queues/failed").get_data(as_text=True)
    assert re.findall(r"<option [^>]*>(steward\.[a-z_.]+)</option>", html) == [
        "steward.run_step",
        "steward.send_email",
    ]


def test_job_detail_shows_arguments_step_run_execution_error_and_traceback(as_role, db, users):
    (failed,) = failed_step_jobs(db, users)
    run = step_run_of(db, failed)

    response = as_role("admin").get(f"/admin/queues/jobs/{failed.id}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert failed.task_id in html
    assert 'aria-label="Arguments"><tbody>' not in html  # one argument: no table for it
    assert f'<span class="data-text">{run.id}</span>' in html
    assert f"[\n  {run.id}\n]" in html  # its raw JSON
    assert "mail (notify)" in html
    assert f'href="/executions/{run.execution_id}"' in html
    assert "Per tag" in html
    assert "ZeroDivisionError: integer division or modulo by zero" in html
    assert "Traceback (most recent call last)" in html
    assert "notifications/step.py" in html  # the step type's own traceback, not Huey's
    assert ">Retry</button>" in html and ">Discard</button>" in html
    assert as_role("admin").get("/admin/queues/jobs/99999").status_code == 404


def test_job_detail_shows_its_step_output_as_key_value_tables(as_role, db, users):
    (failed,) = failed_step_jobs(db, users)
    run = step_run_of(db, failed)
    run.output = {"response": {"status": 502, "headers": {"retry-after": "30"}}, "tries": [1, 2]}
    db.session.commit()

    html = as_role("admin").get(f"/admin/queues/jobs/{failed.id}").get_data(as_text=True)

    output = html[html.index("<h2>Step output</h2>") :]
    assert '<th scope="row">response</th><td><table class="data-table">' in output
    assert '<th scope="row">retry-after</th><td><span class="data-text">30</span>' in output
    assert '<span class="data-text">1, 2</span>' in output
    assert "<summary>Raw JSON" in output and "&#34;retry-after&#34;: &#34;30&#34;" in output


def test_job_detail_never_shows_a_secret_in_its_step_output(app, as_role, db, users):
    secret = "whsec-very-private-value-42"
    seen = factories.step_run_that_saw_a_secret(app, users, secret)
    record = JobRecord(
        task_id="secret-job", task_name="steward.run_step", step_run_id=seen.id, status="complete"
    )
    db.session.add(record)
    db.session.commit()
    html = as_role("admin").get(f"/admin/queues/jobs/{record.id}").get_data(as_text=True)
    assert "<h2>Step output</h2>" in html and "signed with [hidden]" in html
    assert secret not in html and "anything" not in html


# ------------------------------------------------------------------ figures


def run_mixed_batch(db, users) -> None:
    """Two executions succeed (each step also sends an email), one fails; two more wait."""
    per_tag_workflow(users)
    for tags in ("a", "b", ""):
        factories.make_policy(users["owner"], tags=tags)
    consume()
    for _ in range(2):
        factories.make_policy(users["owner"], tags="c")


def test_the_queue_page_and_its_live_fragment_show_figures_from_real_records(as_role, db, users):
    run_mixed_batch(db, users)
    assert huey.pending_count() == 2
    admin = as_role("admin")

    for url in ("/admin/queues", "/admin/queues/live"):
        html = admin.get(url).get_data(as_text=True)
        assert figure(html, "pending") == "2"
        assert figure(html, "scheduled") == "0"
        assert figure(html, "running") == "0"
        assert figure(html, "failed") == "1"
        assert figure(html, "completed") == "4"  # two steps and their two emails
        assert figure(html, "consumers") == "0"
        assert 'data-total="5"' in html  # the chart: five jobs finished this hour
        assert '<polyline class="rate-line"' in html
        durations = re.findall(r"<tr><td>(steward\.[a-z_.]+)</td><td>(\d+)</td>", html)
        assert durations == [("steward.run_step", "3"), ("steward.send_email", "2")]
    live = admin.get("/admin/queues/live").get_data(as_text=True)
    assert "<html" not in live and 'hx-trigger="every 2s"' in live
    page = admin.get("/admin/queues").get_data(as_text=True)
    (failed,) = jobs_where(db, JobRecord.status == "error")
    assert f'href="/admin/queues/jobs/{failed.id}"' in page


def test_the_workflow_view_lists_executions_by_status_with_the_success_rate(as_role, db, users):
    run_mixed_batch(db, users)
    per_tag_workflow(users, name="Never triggered")  # no execution: not listed

    response = as_role("admin").get("/admin/queues/workflows")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    [row] = re.findall(r"<tr>\s*<td><a href=\"/workflows/\d+\">([^<]+)</a>(.*?)</tr>", html, re.S)
    name, cells = row
    assert name == "Per tag"
    assert ">5</a>" in cells  # executions in the last 24 hours
    badges = re.findall(r'<span class="badge run-[a-z]+">([a-z]+ \d+)</span>', cells)
    assert badges == ["failed 1", "running 2", "succeeded 2"]
    assert "67 %" in cells  # two of the three that ended
    assert re.search(r"<td>\d+\.\d s</td>", cells)  # the median of the succeeded ones
    assert "Never triggered" not in html
