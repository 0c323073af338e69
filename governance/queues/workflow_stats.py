"""Per workflow, the last 24 hours: executions by status, success rate, median duration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from governance.engine.models import Execution, Workflow
from governance.extensions import db

WINDOW = timedelta(hours=24)


class seconds_between(FunctionElement):
    """Seconds from one timestamp to another, spelled per database."""

    type = sa.Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0)"
    )


@dataclass
class WorkflowDay:
    workflow_id: int
    name: str
    by_status: dict[str, int] = field(default_factory=dict)
    median_seconds: float | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def success_rate(self) -> float | None:
        """Succeeded among the executions that ended."""
        ended = sum(
            self.by_status.get(status, 0)
            for status in ("succeeded", "failed", "rejected", "cancelled")
        )
        return self.by_status.get("succeeded", 0) / ended if ended else None


def _median_statement(since: datetime) -> sa.Select:
    duration: ColumnElement = seconds_between(Execution.created_at, Execution.finished_at)
    ranked = (
        sa.select(
            Execution.workflow_id,
            duration.label("seconds"),
            sa.func.row_number()
            .over(partition_by=Execution.workflow_id, order_by=duration)
            .label("position"),
            sa.func.count().over(partition_by=Execution.workflow_id).label("total"),
        )
        .where(
            Execution.created_at >= since,
            Execution.status == "succeeded",
            Execution.finished_at.is_not(None),
        )
        .subquery()
    )
    # The middle row, or the mean of the two middle rows (integer division on both databases).
    return (
        sa.select(ranked.c.workflow_id, sa.func.avg(ranked.c.seconds))
        .where(
            ranked.c.position.in_(
                [(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2],
            )
        )
        .group_by(ranked.c.workflow_id)
    )


def last_day(now: datetime) -> list[WorkflowDay]:
    since = now - WINDOW
    days: dict[int, WorkflowDay] = {}
    rows = db.session.execute(
        sa.select(Workflow.id, Workflow.name, Execution.status, sa.func.count())
        .join(Execution, Execution.workflow_id == Workflow.id)
        .where(Execution.created_at >= since)
        .group_by(Workflow.id, Workflow.name, Execution.status)
        .order_by(Workflow.name)
    ).all()
    for workflow_id, name, status, count in rows:
        day = days.setdefault(workflow_id, WorkflowDay(workflow_id, name))
        day.by_status[status] = count
    for workflow_id, median in db.session.execute(_median_statement(since)):
        if workflow_id in days and median is not None:
            days[workflow_id].median_seconds = float(median)
    return list(days.values())
