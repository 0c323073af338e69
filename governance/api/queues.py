"""/api/v1/queues (admin): the queue figures of /health/queues, and the failed jobs with the
queue page's retry and discard, through the same operations (audited, refused once resolved)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from governance.api.auth import current_api_user
from governance.api.errors import ApiError
from governance.api.paging import keyset_page
from governance.api.schemas import PageQuery, Strict, UTCDatetime
from governance.api.spec import operation
from governance.api.statuses import JobStatus
from governance.api.text import Text, required_text
from governance.queues import operations, stats
from governance.queues.models import JobRecord
from governance.timeutil import utcnow

TAG = "Queues"
if TYPE_CHECKING:  # built by a function, which a type checker cannot read as a type
    Reason = str
else:
    Reason = required_text(operations.REASON_MAX)


class QueueStats(BaseModel):
    """The figures /health/queues serves, measured now; null where the queue does not answer."""

    status: Literal["ok", "unhealthy"]
    problems: list[str] = Field(description="Why the queue is unhealthy; empty when it is not.")
    pending: int | None
    scheduled: int | None
    running: int
    failed_last_hour: int
    completed_last_hour: int
    retried_last_hour: int
    throughput_per_minute: float
    consumers_alive: int
    oldest_pending_age_s: float | None


class JobOut(BaseModel):
    id: int
    task_id: str = Field(description="Huey's id of the task.")
    task_name: str
    status: JobStatus
    args: list[Any]
    step_run_id: int | None
    attempts: int
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    consumer_id: str | None
    error: str | None
    traceback: str | None
    can_retry: bool = Field(description="Whether retry can send this job's work again.")
    resolved_at: datetime | None
    resolution: str | None = Field(description="Who retried it, or why it was discarded.")


class JobList(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class JobResult(BaseModel):
    job: JobOut
    message: str


class FailedJobsQuery(PageQuery):
    task_name: Text | None = Field(
        default=None, max_length=120, description="e.g. steward.run_step"
    )
    since: UTCDatetime | None = Field(
        default=None, description="Failed at or after this moment (ISO 8601; no offset: UTC)."
    )


class DiscardIn(Strict):
    reason: Reason = Field(description="Why the work is given up; audited. Not blank.")


def _job_out(job: JobRecord) -> JobOut:
    return JobOut(
        id=job.id,
        task_id=job.task_id,
        task_name=job.task_name,
        status=job.status,
        args=list(job.args or []),
        step_run_id=job.step_run_id,
        attempts=job.attempts,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        duration_ms=job.duration_ms,
        consumer_id=job.consumer_id,
        error=job.error,
        traceback=job.traceback,
        can_retry=operations.can_retry(job),
        resolved_at=job.resolved_at,
        resolution=job.resolution,
    )


@operation(
    "/queues/stats",
    summary="Queue figures (those of /health/queues)",
    tag=TAG,
    roles=("admin",),
    responses={200: QueueStats},
    description="Answers 200 whatever the queue's health: `status` and `problems` say it "
    "(/health/queues answers 503 instead, for load balancers).",
)
def queue_stats():
    snapshot = stats.snapshot(utcnow(), with_durations=False)
    problems = snapshot.unhealthy_reasons(stats.lag_limit_s())
    return QueueStats(
        **snapshot.as_json(), status="unhealthy" if problems else "ok", problems=problems
    )


@operation(
    "/queues/failed",
    summary="List failed jobs waiting for an operator",
    tag=TAG,
    query=FailedJobsQuery,
    roles=("admin",),
    responses={200: JobList},
    description="Newest first. A retried or discarded job leaves the list.",
)
def list_failed_jobs(query: FailedJobsQuery):
    statement = operations.failed_jobs_statement(task_name=query.task_name or "", since=query.since)
    jobs, next_cursor = keyset_page(statement, JobRecord.id, query)
    return JobList(items=[_job_out(job) for job in jobs], next_cursor=next_cursor)


@operation(
    "/queues/failed/<int:job_id>/retry",
    "POST",
    summary="Retry a failed job",
    tag=TAG,
    roles=("admin",),
    responses={200: JobResult},
    refusals={
        409: "The job is no longer failed, or its work cannot be sent again from here "
        "(`can_retry` is false)."
    },
    description="Sends the job's work again through its owner (a step's execution restarts "
    "from the failed step; an email is queued again).",
)
def retry_failed_job(job_id: int):
    admin = current_api_user()
    job = operations.get_job(job_id)
    if job.is_failed and not operations.can_retry(job):
        # The service calls this a DomainError (a 422); it is the job's kind, not the request.
        raise ApiError(
            409,
            f"“{job.task_name}” jobs cannot be retried from here: they run again on their own "
            "schedule. Discard the job to clear it.",
        )
    message = operations.retry_job(job.id, actor=admin)  # 409 once no longer failed
    return JobResult(job=_job_out(operations.get_job(job_id)), message=message)


@operation(
    "/queues/failed/<int:job_id>/discard",
    "POST",
    summary="Discard a failed job, with a reason",
    tag=TAG,
    body=DiscardIn,
    roles=("admin",),
    responses={200: JobResult},
    refusals={409: "The job is no longer failed."},
    description="Gives the work up for good: a step fails with the reason, and so does its "
    "execution.",
)
def discard_failed_job(job_id: int, body: DiscardIn):
    admin = current_api_user()
    job = operations.get_job(job_id)  # 404 before a blank reason's 422
    operations.discard_job(job.id, reason=body.reason, actor=admin)
    return JobResult(
        job=_job_out(operations.get_job(job_id)),
        message="Job discarded; the reason is in the audit trail.",
    )
