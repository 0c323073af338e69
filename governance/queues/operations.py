"""Failed jobs: list, retry and discard, each through the service that owns the work.

A job only carries an id; the database row it points at (a step run, an email) is the truth.
So "retry" asks the engine or the outbox to send that work again, and "discard" gives the
work up for good, with a reason; both are audited and refuse a job that is no longer failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine import operate
from governance.engine.definition import redact, secret_values
from governance.engine.handoff import send_steps_after_commit
from governance.engine.models import StepRun
from governance.errors import Conflict, DomainError
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.notifications import outbox
from governance.notifications.models import OutboundEmail
from governance.queues.models import FAILED_JOB_STATUS, JobRecord
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.webhooks.signing_secret import known_secrets

REASON_MAX = 500


@dataclass(frozen=True)
class BulkResult:
    retried: list[int]
    refused: list[tuple[int, str]]


def failed_jobs_statement(*, task_name: str = "", since: datetime | None = None) -> sa.Select:
    """Failed jobs waiting for an operator, newest failure first."""
    statement = sa.select(JobRecord).where(JobRecord.status == FAILED_JOB_STATUS)
    if task_name:
        statement = statement.where(JobRecord.task_name == task_name)
    if since is not None:
        statement = statement.where(JobRecord.finished_at >= since)
    return statement.order_by(JobRecord.finished_at.desc(), JobRecord.id.desc())


def failed_task_names() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(JobRecord.task_name)
            .where(JobRecord.status == FAILED_JOB_STATUS)
            .distinct()
            .order_by(JobRecord.task_name)
        )
    )


def get_job(job_id: int) -> JobRecord:
    return get_or_raise(JobRecord, job_id, "No such job.")


def step_run_of(job: JobRecord) -> StepRun | None:
    return db.session.get(StepRun, job.step_run_id) if job.step_run_id else None


def step_output(step_run: StepRun | None) -> object:
    """The step run's output as the execution page shows it: every secret hidden."""
    if step_run is None or not step_run.output:
        return None
    execution = step_run.execution
    secrets = secret_values(execution.version.definition) | known_secrets(execution.workflow)
    return redact(step_run.output, secrets)


def email_of(job: JobRecord) -> OutboundEmail | None:
    if job.task_name == "steward.send_email" and job.args:
        return db.session.get(OutboundEmail, job.args[0])
    return None


# ------------------------------------------------------------------ retry


def _retry_step(job: JobRecord, actor: User) -> str:
    step_run = step_run_of(job)
    if step_run is None:
        raise Conflict("The step run this job served no longer exists; discard the job.")
    execution = step_run.execution
    if step_run.status == "failed" and execution.status == "failed":
        operate.retry_execution(execution.id, actor_id=actor.id)  # audited, in this unit
        return f"Execution {execution.id} restarts from step “{step_run.step_key}”."
    if step_run.status == "queued":
        send_steps_after_commit([step_run.id])
        return f"Step “{step_run.step_key}” was sent to the queue again."
    raise Conflict(
        f"Step “{step_run.step_key}” is {step_run.status} now: there is nothing to retry. "
        "Discard the job to clear it."
    )


def _retry_email(job: JobRecord, actor: User) -> str:
    email = email_of(job)
    if email is None:
        raise Conflict("The email this job served no longer exists; discard the job.")
    outbox.send_again(email.id, actor=actor)  # audited, joins this unit
    return f"The email “{email.subject}” is queued again."


RETRIERS: dict[str, Callable[[JobRecord, User], str]] = {
    "steward.run_step": _retry_step,
    "steward.send_email": _retry_email,
}


def can_retry(job: JobRecord) -> bool:
    return job.is_failed and job.task_name in RETRIERS


def _resolve(job_id: int, *, status: str, actor: User, resolution: str) -> None:
    """Take the job off the failed list, once: of two operators clicking, one wins."""
    changed = db.session.execute(
        sa.update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == FAILED_JOB_STATUS)
        .values(
            status=status,
            resolved_at=utcnow(),
            resolved_by_id=actor.id,
            resolution=resolution[:REASON_MAX],
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        raise Conflict("This job is no longer failed: someone retried or discarded it.")


@unit_of_work()
def retry_job(job_id: int, *, actor: User) -> str:
    """Send a failed job's work again through its owner; commits. Returns what happened."""
    job = get_job(job_id)
    if not job.is_failed:
        raise Conflict(f"Only a failed job can be retried; this one is {job.status}.")
    retrier = RETRIERS.get(job.task_name)
    if retrier is None:
        raise DomainError(
            f"“{job.task_name}” jobs cannot be retried from here: they run again on their "
            "own schedule. Discard the job to clear it."
        )
    _resolve(job.id, status="retried", actor=actor, resolution=f"Retried by {actor.name}")
    record_event(
        actor_id=actor.id,
        action="job.retried",
        object_type="job",
        object_id=job.id,
        summary=f"{actor.name} retried the failed {job.task_name} job {job.task_id}",
    )
    return retrier(job, actor)


def retry_jobs(job_ids: list[int], *, actor: User) -> BulkResult:
    """Retry each job in its own transaction; one refusal does not stop the others."""
    retried, refused = [], []
    for job_id in dict.fromkeys(job_ids):
        try:
            retry_job(job_id, actor=actor)
        except DomainError as error:  # its unit rolled back; the others go on
            refused.append((job_id, error.message))
        else:
            retried.append(job_id)
    return BulkResult(retried, refused)


# ------------------------------------------------------------------ discard


@unit_of_work()
def discard_job(job_id: int, *, reason: str, actor: User) -> None:
    """Give a failed job's work up for good, with a reason; commits."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the job is discarded.", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    job = get_job(job_id)
    if not job.is_failed:
        raise Conflict(f"Only a failed job can be discarded; this one is {job.status}.")
    _resolve(job.id, status="discarded", actor=actor, resolution=reason)
    summary = f"{actor.name} discarded the failed {job.task_name} job {job.task_id}: {reason}"
    if job.step_run_id is not None:
        operate.give_up_step(job.step_run_id, reason=f"Discarded by {actor.name}: {reason}")
    email = email_of(job)
    if email is not None:
        db.session.execute(
            sa.update(OutboundEmail)
            .where(OutboundEmail.id == email.id, OutboundEmail.status.in_(("queued", "failed")))
            .values(status="failed", last_error=f"Discarded by {actor.name}: {reason}"[:1000])
            .execution_options(synchronize_session=False)
        )
    record_event(
        actor_id=actor.id,
        action="job.discarded",
        object_type="job",
        object_id=job.id,
        summary=summary,
        changes={"reason": reason, "step_run_id": job.step_run_id},
    )
