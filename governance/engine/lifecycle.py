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
