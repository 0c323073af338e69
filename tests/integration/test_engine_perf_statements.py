"""What a step costs the database: the engine's own statements per step, counted.

The engine's statements are those on step_runs, step_attempts and executions; what an action
does for its own effects (a task, a notification, a policy change) is the action's business
and not counted here. The counts guard the hot path a consumer runs for every step.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from governance.engine.jobs import run_step
from governance.engine.models import Execution, StepAttempt, StepRun
from tests import factories
from tests.factories import make_workflow, step

ENGINE_TABLES = re.compile(
    r"^\s*(?:SELECT .*?\sFROM|UPDATE|INSERT INTO)\s+(step_runs|step_attempts|executions)\b",
    re.IGNORECASE | re.DOTALL,
)


def _engine_statements(statements: list[str]) -> list[str]:
    return [statement for statement in statements if ENGINE_TABLES.match(statement)]


def _three_single_step_stages(users) -> None:
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [
                step(
                    "todo", "create_task", {"title": "Read {{ policy.title }}", "assignee": "owner"}
                )
            ],
            [step("tell", "notify", {"to_owner": True, "subject": "{{ policy.title }} is new"})],
            [step("review", "assign", {"role": "reviewer", "user_id": users["approver"].id})],
        ],
    )


def _queued_step_id(db) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(StepRun.id).where(StepRun.status == "queued"))


def test_a_step_alone_in_its_stage_costs_the_engine_eight_statements(db, users, count_statements):
    _three_single_step_stages(users)
    factories.make_policy(users["owner"])
    per_step = []
    for _ in range(3):
        step_run_id = _queued_step_id(db)
        with count_statements() as counter:
            assert run_step.call_local(step_run_id) == "succeeded"
        per_step.append(len(_engine_statements(counter.statements)))
    # claim (update, attempt insert), load (step with its execution, step results), finish
    # (step, attempt), next stage (execution, its steps); the last step only ends the execution.
    assert per_step == [8, 8, 7]
    execution = db.session.scalars(sa.select(Execution)).one()
    assert execution.status == "succeeded"
    assert execution.current_stage == 2
    attempts = db.session.scalars(sa.select(StepAttempt.outcome)).all()
    assert attempts == ["succeeded"] * 3


def test_a_duplicate_message_costs_one_statement(db, users, count_statements):
    _three_single_step_stages(users)
    factories.make_policy(users["owner"])
    step_run_id = _queued_step_id(db)
    assert run_step.call_local(step_run_id) == "succeeded"
    with count_statements() as counter:
        assert run_step.call_local(step_run_id) == "not-claimed"
    assert len(counter.statements) == 1
