"""Which workflow execution, if any, holds a policy's status so no person moves it by hand.

An execution gates its policy while it is still open (pending, running or waiting), it was
started by the policy's move to the status the policy still has (a `policy.status_changed`
trigger into that status: the review a submission started), and it still has an approval
or set-status step to come. Such a workflow is deciding where the policy goes next, so the
lifecycle's own forward moves (Approve, Publish, Retire) would skip it and are refused;
moves back to draft (Request changes, Start revision) skip nothing and stay open. Notify-only
workflows, exception approvals and executions started by other triggers never gate; once
the execution ends (an admin may cancel it) or has moved the policy on, the gate is lifted.
"""

from __future__ import annotations

import sqlalchemy as sa

from governance.engine.lifecycle import ExecutionStatus
from governance.engine.models import FINISHED_STEP_STATUSES, Execution, StepRun
from governance.extensions import db
from governance.policies.models import Policy

OPEN_EXECUTION_STATUSES = (
    ExecutionStatus.PENDING,
    ExecutionStatus.RUNNING,
    ExecutionStatus.WAITING,
)
DECIDING_STEP_TYPES = ("approval", "set_status")


def gating_execution(policy: Policy) -> Execution | None:
    """The oldest execution gating this policy's status, or None."""
    candidates = db.session.scalars(
        sa.select(Execution)
        .where(
            Execution.policy_id == policy.id,
            Execution.status.in_(OPEN_EXECUTION_STATUSES),
            Execution.trigger_type == "policy.status_changed",
            sa.exists().where(
                StepRun.execution_id == Execution.id,
                StepRun.step_type.in_(DECIDING_STEP_TYPES),
                StepRun.status.not_in(FINISHED_STEP_STATUSES),
            ),
        )
        .order_by(Execution.id)
    )
    # Few rows (the policy's open executions); the trigger's status is read from its JSON here
    # rather than with each database's own JSON operators.
    return next(
        (
            execution
            for execution in candidates
            if (execution.trigger_data or {}).get("new_status") == policy.status
        ),
        None,
    )


def refusal_message(execution: Execution) -> str:
    return (
        f"The workflow “{execution.workflow.name}” (execution {execution.id}) is still deciding "
        "this policy's review, so it cannot be moved on by hand. Decide it there, or an admin "
        f"can cancel execution {execution.id} first: /executions/{execution.id}"
    )
