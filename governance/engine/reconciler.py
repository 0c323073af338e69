"""The reconciler: finds work that Huey lost or that became due, and puts it back on the queue.

It re-sends steps left queued too long, takes back steps whose lease expired (their consumer
died or the step ran past its timeout), wakes due wait steps, fires due schedules, and
advances executions whose stage finished; then it runs every sweep the features registered
(engine/sweeps.py: escalations, lost emails, digests). Every change is a conditional UPDATE,
so two reconcilers running at once (one per consumer) never do the same thing twice.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from governance.dbutil import rowcount
from governance.engine import advance, backoff, schedule, start, sweeps
from governance.engine.handoff import RUN_STEP, send_steps_after_commit
from governance.engine.lifecycle import ExecutionStatus, StepRunStatus, WorkflowStatus
from governance.engine.models import (
    FINISHED_STEP_STATUSES,
    Execution,
    StepAttempt,
    StepRun,
    Workflow,
)
from governance.extensions import db
from governance.queue import ids_waiting_in_queue
from governance.timeutil import utcnow

log = logging.getLogger(__name__)
BATCH = 500


def _candidates(statement: sa.Select) -> list[int]:
    """Ids to look at; on PostgreSQL rows another reconciler holds are skipped, not waited for."""
    statement = statement.limit(BATCH)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(db.session.scalars(statement))


def _requeue_expired_leases(now) -> list[int]:
    requeued = []
    expired = _candidates(
        sa.select(StepRun.id).where(
            StepRun.status == StepRunStatus.RUNNING, StepRun.lease_until < now
        )
    )
    for step_run_id in expired:
        step_run = db.session.get_one(StepRun, step_run_id)
        error = "The step did not finish within its lease (consumer died or step timed out)."
        db.session.execute(
            sa.update(StepAttempt)
            .where(
                StepAttempt.step_run_id == step_run_id,
                StepAttempt.number == step_run.attempt,
                StepAttempt.finished_at.is_(None),
            )
            .values(finished_at=now, outcome="lost", error=error)
        )
        if step_run.attempt < step_run.max_attempts:
            retry = step_run.execution.version.find_step(step_run.step_key)["retry"]
            delay = backoff.retry_delay(
                step_run.attempt,
                base_seconds=retry["base_seconds"],
                kind=retry["backoff"],
                cap_seconds=current_app.config["STEP_RETRY_CAP_SECONDS"],
            )
            changed = db.session.execute(
                sa.update(StepRun)
                .where(
                    StepRun.id == step_run_id,
                    StepRun.status == StepRunStatus.RUNNING,
                    StepRun.attempt == step_run.attempt,
                )
                .values(
                    status=StepRunStatus.QUEUED,
                    lease_until=None,
                    queued_at=now,
                    next_attempt_at=now + timedelta(seconds=delay),
                    error=error,
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(changed) == 1:
                requeued.append(step_run_id)
                # Sent once its back-off has passed: a message now would find it not yet due.
                send_steps_after_commit([step_run_id], delay=delay)
        else:
            changed = db.session.execute(
                sa.update(StepRun)
                .where(StepRun.id == step_run_id, StepRun.status == StepRunStatus.RUNNING)
                .values(status=StepRunStatus.FAILED, lease_until=None, finished_at=now, error=error)
                .execution_options(synchronize_session=False)
            )
            if rowcount(changed) == 1:
                advance.fail_execution(
                    step_run.execution_id, f"Step “{step_run.step_key}” failed: {error}"
                )
    return requeued


def _resend_stale_queued(now) -> list[int]:
    stale_before = now - timedelta(seconds=current_app.config["STALE_QUEUED_SECONDS"])
    stale = _candidates(
        sa.select(StepRun.id).where(
            StepRun.status == StepRunStatus.QUEUED,
            StepRun.queued_at < stale_before,
            sa.or_(StepRun.next_attempt_at.is_(None), StepRun.next_attempt_at <= now),
        )
    )
    if stale:
        # A step whose message is still waiting in a busy queue is not lost: sending it again
        # would only grow the backlog. Re-send only what the queue no longer holds.
        in_queue = ids_waiting_in_queue(RUN_STEP)
        if in_queue is None:
            return []
        stale = [step_run_id for step_run_id in stale if step_run_id not in in_queue]
    if stale:
        db.session.execute(
            sa.update(StepRun)
            .where(StepRun.id.in_(stale), StepRun.status == StepRunStatus.QUEUED)
            .values(queued_at=now)
            .execution_options(synchronize_session=False)
        )
    send_steps_after_commit(stale)
    return stale


def _wake_due_waits(now) -> list[int]:
    due = _candidates(
        sa.select(StepRun.id).where(
            StepRun.status == StepRunStatus.WAITING,
            StepRun.step_type == "wait",
            StepRun.next_attempt_at <= now,
        )
    )
    if due:
        db.session.execute(
            sa.update(StepRun)
            .where(StepRun.id.in_(due), StepRun.status == StepRunStatus.WAITING)
            .values(status=StepRunStatus.QUEUED, queued_at=now, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        for execution_id in set(
            db.session.scalars(sa.select(StepRun.execution_id).where(StepRun.id.in_(due)))
        ):
            advance.refresh_execution_status(execution_id)
    send_steps_after_commit(due)
    return due


def _fire_due_schedules(now) -> list[int]:
    started = []
    due = _candidates(
        sa.select(Workflow.id).where(
            Workflow.status == WorkflowStatus.ACTIVE,
            Workflow.trigger_type == "schedule",
            Workflow.next_run_at <= now,
        )
    )
    for workflow_id in due:
        workflow = db.session.get_one(Workflow, workflow_id)
        planned, version = workflow.next_run_at, workflow.active_version
        # Selected as active and due, so it has a version and a next run (for the checker).
        assert planned is not None and version is not None
        cron = version.definition["trigger"]["cron"]
        # Claim this run of the schedule: only the reconciler that moves next_run_at fires it.
        claimed = db.session.execute(
            sa.update(Workflow)
            .where(Workflow.id == workflow_id, Workflow.next_run_at == planned)
            .values(next_run_at=schedule.next_run(cron, after=now))
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) != 1:
            continue
        execution = start.start_execution(
            workflow,
            policy_id=None,
            trigger_type="schedule",
            trigger_data={"scheduled_for": planned.isoformat(), "cron": cron},
            actor_id=None,
        )
        started.append(execution.id)
    return started


def _advance_finished_stages() -> int:
    """A safety net: an execution whose current stage has no open step is moved on."""
    open_step = (
        sa.select(StepRun.id)
        .where(
            StepRun.execution_id == Execution.id,
            StepRun.stage_index == Execution.current_stage,
            StepRun.status.not_in(FINISHED_STEP_STATUSES),
        )
        .exists()
    )
    stuck = _candidates(
        sa.select(Execution.id).where(
            Execution.status.in_((ExecutionStatus.RUNNING, ExecutionStatus.WAITING)), ~open_step
        )
    )
    for execution_id in stuck:
        advance.advance(execution_id)
    return len(stuck)


def reconcile() -> dict[str, int]:
    """One pass: the engine's own work, then every registered sweep, each in its own
    transaction. Safe to run in every consumer at once, and as often as you like."""
    now = utcnow()
    counts = {}
    for name, work in (
        ("lease_expired", _requeue_expired_leases),
        ("stale_queued", _resend_stale_queued),
        ("waits_due", _wake_due_waits),
        ("schedules_fired", _fire_due_schedules),
    ):
        counts[name] = len(work(now))  # each queues its sends for after this commit
        db.session.commit()
    counts["stages_advanced"] = _advance_finished_stages()
    db.session.commit()
    for name, sweep in sweeps.sweeps().items():
        counts[name] = sweep(now)
        db.session.commit()  # what the sweep queued reaches Huey after this commit
    return counts


def run_in_background(app: Flask, stop: threading.Event) -> threading.Thread:
    """A daemon thread that reconciles every RECONCILE_INTERVAL_SECONDS until `stop` is set."""

    def loop() -> None:
        interval = app.config["RECONCILE_INTERVAL_SECONDS"]
        while not stop.wait(interval):
            with app.app_context():
                try:
                    counts = reconcile()
                except Exception:  # a database blip must not kill the loop
                    log.warning("Reconcile pass failed; trying again shortly", exc_info=True)
                    db.session.rollback()
                    continue
                if any(counts.values()):
                    log.info("Reconciled: %s", counts)

    thread = threading.Thread(target=loop, name="steward-reconciler", daemon=True)
    thread.start()
    return thread
