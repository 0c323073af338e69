"""Huey jobs made through the real path for the queue tests (page, API, recorder): services
enqueue, the test takes each message off its own queue and executes it the way a consumer
does, so Huey's signals feed the recorder."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.engine.models import StepRun
from governance.extensions import huey
from governance.notifications import outbox
from governance.notifications.models import OutboundEmail
from governance.notifications.service import notify
from governance.queues.models import JobRecord
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_workflow, step

# A notify step whose subject divides by the policy's tag count: it fails for good (one
# attempt) on a policy without tags and succeeds on one with tags.
PER_TAG = {"to_owner": True, "subject": "{{ 100 // policy.tags | length }}% per tag"}
ONE_ATTEMPT = {"attempts": 1, "backoff": "fixed", "base_seconds": 0}


def consume() -> int:
    """Do what a consumer does with every message waiting in the queue; returns how many."""
    ran = 0
    # Asked first: RedisHuey's dequeue waits a second on an empty queue.
    while huey.pending_count() and (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def queued_messages() -> list[tuple[str, tuple]]:
    return sorted((task.name, task.args) for task in huey.pending())


def per_tag_workflow(users, name: str = "Per tag"):
    return make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("mail", "notify", PER_TAG, retry=ONE_ATTEMPT)]],
        name=name,
    )


def jobs_where(db, *conditions) -> list[JobRecord]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobRecord).where(*conditions).order_by(JobRecord.id)))


def job(db, job_id: int) -> JobRecord:
    db.session.expire_all()
    return db.session.get(JobRecord, job_id)


def step_run_of(db, record: JobRecord) -> StepRun:
    db.session.expire_all()
    return db.session.get(StepRun, record.step_run_id)


def failed_step_jobs(db, users, count: int = 1) -> list[JobRecord]:
    """`count` executions whose only step failed for good, run through Huey: their jobs."""
    per_tag_workflow(users)
    for _ in range(count):
        factories.make_policy(users["owner"], tags="")
    consume()
    jobs = jobs_where(db, JobRecord.status == "error")
    assert [job.task_name for job in jobs] == ["steward.run_step"] * count
    return jobs


def failed_email_job(db, users) -> JobRecord:
    """An email on its last attempt against a refused server (the `refused_smtp` fixture),
    sent through Huey: its job."""
    notify([users["viewer"].id], subject="Quarterly review", body="Please read.")
    db.session.commit()
    db.session.execute(
        sa.update(OutboundEmail).values(
            attempts=outbox.MAX_ATTEMPTS - 1, sent_at=utcnow() - timedelta(days=1)
        )
    )
    db.session.commit()
    consume()
    [record] = jobs_where(
        db, JobRecord.status == "error", JobRecord.task_name == "steward.send_email"
    )
    return record
