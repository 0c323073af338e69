"""The lifecycles' values as Literal types: the API models' status fields, whose OpenAPI schemas
list the values inline. A type checker needs them spelled out; tests/unit/test_api_statuses.py
holds each list equal to its StrEnum, so the two cannot drift."""

from __future__ import annotations

from typing import Literal

ExecutionStatus = Literal[
    "pending", "running", "waiting", "succeeded", "failed", "rejected", "cancelled"
]
StepStatus = Literal[
    "pending", "queued", "running", "waiting", "succeeded", "failed", "skipped", "cancelled"
]
RequestStatus = Literal["pending", "approved", "rejected", "cancelled", "expired"]
JobStatus = Literal[
    "enqueued",
    "scheduled",
    "running",
    "complete",
    "retrying",
    "error",
    "revoked",
    "expired",
    "canceled",
    "interrupted",
    "lost",
    "retried",
    "discarded",
]
WorkflowStatus = Literal["draft", "active", "inactive"]
