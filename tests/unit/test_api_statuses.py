"""The API's status Literals list exactly the values of the lifecycles' StrEnums, in order."""

from __future__ import annotations

from typing import get_args

import pytest

from governance.api import statuses
from governance.approvals.models import ApprovalRequestStatus
from governance.engine.lifecycle import ExecutionStatus, StepRunStatus, WorkflowStatus
from governance.queues.models import JobStatus


@pytest.mark.parametrize(
    ("literal", "lifecycle"),
    [
        (statuses.ExecutionStatus, ExecutionStatus),
        (statuses.StepStatus, StepRunStatus),
        (statuses.RequestStatus, ApprovalRequestStatus),
        (statuses.JobStatus, JobStatus),
        (statuses.WorkflowStatus, WorkflowStatus),
    ],
)
def test_each_api_status_type_lists_its_lifecycles_values(literal, lifecycle):
    assert get_args(literal) == tuple(status.value for status in lifecycle)
