"""The queue health page (/admin/queues, admin only, live) and its failed-job operations."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from governance.auth.access import require_role
from governance.errors import DomainError
from governance.queues import charts, operations, stats, workflow_stats
from governance.queues.forms import BulkRetryForm, DiscardForm
from governance.timeutil import utcnow
from governance.web.forms import show_domain_error
from governance.web.htmx import page_or_partial
from governance.web.pagination import page_from_args, paginate
from governance.web.params import form_ids

bp = Blueprint("queues", __name__, url_prefix="/admin/queues")
PER_PAGE = 50
BULK_LIMIT = 200
SINCE_CHOICES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
FORM_EXPIRED = "The form expired; reload the page and try again."


def _live_context() -> dict:
    snapshot = stats.snapshot(utcnow())
    return {
        "snapshot": snapshot,
        "chart": charts.minute_chart(snapshot.minutes),
        "lag_limit_s": stats.lag_limit_s(),
    }


@bp.route("")
@require_role("admin")
def index():
    return render_template("queues/index.html", **_live_context())


@bp.route("/live")
@require_role("admin")
def live():
    """The figures, charts and consumers: polled every 2 seconds by the page."""
    return render_template("queues/_live.html", **_live_context())


@bp.route("/workflows")
@require_role("admin")
def workflows():
    return render_template(
        "queues/_workflows.html", workflow_days=workflow_stats.last_day(utcnow())
    )


@bp.route("/failed")
@require_role("admin")
def failed():
    task_name = request.args.get("task", "")[:120]
    since_key = request.args.get("since", "")
    since = utcnow() - SINCE_CHOICES[since_key] if since_key in SINCE_CHOICES else None
    pagination = paginate(
        operations.failed_jobs_statement(task_name=task_name, since=since),
        page=page_from_args(),
        per_page=PER_PAGE,
    )
    return page_or_partial(
        "queues/failed.html",
        "queues/_failed_list.html",
        pagination=pagination,
        task_names=operations.failed_task_names(),
        filters={"task": task_name, "since": since_key if since else ""},
        since_choices=SINCE_CHOICES,
        bulk_form=BulkRetryForm(formdata=None),
        can_retry=operations.can_retry,
    )


def _job_page(job_id: int, discard_form: DiscardForm | None = None, status: int = 200):
    job = operations.get_job(job_id)
    step_run = operations.step_run_of(job)
    return (
        render_template(
            "queues/job.html",
            job=job,
            step_run=step_run,
            step_output=operations.step_output(step_run),
            email=operations.email_of(job),
            can_retry=operations.can_retry(job),
            retry_form=BulkRetryForm(formdata=None),
            discard_form=discard_form or DiscardForm(formdata=None),
        ),
        status,
    )


@bp.route("/jobs/<int:job_id>")
@require_role("admin")
def job(job_id: int):
    return _job_page(job_id)


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@require_role("admin")
def retry(job_id: int):
    operations.get_job(job_id)  # 404 for an unknown id
    if not BulkRetryForm().validate_on_submit():
        flash(FORM_EXPIRED, "error")
        return redirect(url_for("queues.job", job_id=job_id), 303)
    try:
        message = operations.retry_job(job_id, actor=current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"Job retried. {message}", "success")
    return redirect(url_for("queues.job", job_id=job_id), 303)


@bp.route("/jobs/<int:job_id>/discard", methods=["POST"])
@require_role("admin")
def discard(job_id: int):
    operations.get_job(job_id)
    form = DiscardForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(FORM_EXPIRED, "error")
        return _job_page(job_id, form, status=422)
    try:
        operations.discard_job(job_id, reason=form.reason.data, actor=current_user)
    except DomainError as error:
        show_domain_error(form, error)
        return _job_page(job_id, form, status=error.status_code)
    flash("Job discarded; the reason is in the audit trail.", "success")
    return redirect(url_for("queues.job", job_id=job_id), 303)


@bp.route("/failed/retry", methods=["POST"])
@require_role("admin")
def bulk_retry():
    back = url_for("queues.failed")
    if not BulkRetryForm().validate_on_submit():
        flash(FORM_EXPIRED, "error")
        return redirect(back, 303)
    job_ids = form_ids("job_ids")
    if not job_ids:
        flash("Select at least one failed job to retry.", "error")
        return redirect(back, 303)
    result = operations.retry_jobs(job_ids[:BULK_LIMIT], actor=current_user)
    if result.retried:
        count = len(result.retried)
        flash(f"Retried {count} job{'s' if count != 1 else ''}.", "success")
    for job_id, message in result.refused:
        flash(f"Job {job_id} was not retried: {message}", "error")
    return redirect(back, 303)
