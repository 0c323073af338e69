"""What the engine tells the features that plug into it."""

from __future__ import annotations

from dataclasses import dataclass

from governance.events import Event


@dataclass(frozen=True)
class ExecutionFinished(Event):
    """An execution ended, published in the transaction that ended it."""

    execution_id: int
    status: str  # "succeeded", "failed", "rejected" or "cancelled"
    trigger_type: str


@dataclass(frozen=True)
class ExecutionStepsClosed(Event):
    """An execution's open steps were cancelled (it failed, was rejected or cancelled), in the
    transaction that closed them: whatever waits on them (approval requests) is withdrawn."""

    execution_id: int
