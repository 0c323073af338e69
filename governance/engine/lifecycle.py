"""The statuses of workflows, executions and step runs, and which of them are final.

Pure: no database. The models' CHECK constraints and the API's value lists derive from these.
"""

from __future__ import annotations

from enum import StrEnum


class WorkflowStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    INACTIVE = "inactive"


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINISHED_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.REJECTED,
        ExecutionStatus.CANCELLED,
    }
)


class StepRunStatus(StrEnum):
    PENDING = "pending"  # its stage has not started
    QUEUED = "queued"  # ready, waiting for a consumer to claim it
    RUNNING = "running"  # claimed under a lease
    WAITING = "waiting"  # parked: an approval, a wait step, a retry's back-off
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


FINISHED_STEP_STATUSES = frozenset(
    {
        StepRunStatus.SUCCEEDED,
        StepRunStatus.FAILED,
        StepRunStatus.SKIPPED,
        StepRunStatus.CANCELLED,
    }
)


class RunOutcome(StrEnum):
    """What one delivery of a step to a consumer came to: the step's new status when it
    changed, or why it did not (the task wrapper and the tests read these)."""

    SUCCEEDED = StepRunStatus.SUCCEEDED.value
    FAILED = StepRunStatus.FAILED.value
    WAITING = StepRunStatus.WAITING.value
    SKIPPED = StepRunStatus.SKIPPED.value
    CANCELLED = StepRunStatus.CANCELLED.value
    RETRYING = "retrying"  # queued again, due after its back-off
    LOST_LEASE = "lost-lease"  # no longer this consumer's: its writes were undone
    NOT_CLAIMED = "not-claimed"  # a duplicate or early message: someone else's, or not due
