"""An expensive step template is stopped with the same clear error in the dry run (the
admin's preview) and in the consumer, where it fails the step at once instead of retrying."""

from __future__ import annotations

import sqlalchemy as sa

from governance.engine.models import Execution, StepRun
from governance.notifications.models import Notification
from tests import factories
from tests.factories import make_workflow, run_queued_steps, step

# 40,000 loop iterations, four times the budget; real ones of this shape took a minute.
NESTED = "{% for a in range(200) %}{% for b in range(200) %}{% endfor %}{% endfor %}done"
TOO_EXPENSIVE = "Template too expensive: more than 10,000 loop iterations"


def _workflow(users, retry=None):
    extra = {"retry": retry} if retry else {}
    return make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("note", "notify", {"to_owner": True, "subject": "Hi", "body": NESTED}, **extra)]
        ],
    )


def test_the_dry_run_reports_an_expensive_template_and_answers(as_role, users, db):
    workflow = _workflow(users)
    policy = factories.make_policy(users["owner"])

    page = as_role("admin").get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")

    assert page.status_code == 200
    assert TOO_EXPENSIVE in page.get_data(as_text=True)


def test_the_consumer_fails_the_step_once_without_retrying(db, users):
    _workflow(users, retry={"attempts": 3, "backoff": "fixed", "base_seconds": 0})
    factories.make_policy(users["owner"])

    run_queued_steps()

    db.session.expire_all()
    run = db.session.scalars(sa.select(StepRun)).one()
    assert (run.status, run.attempt) == ("failed", 1)
    assert [attempt.outcome for attempt in run.attempts] == ["failed"]
    assert TOO_EXPENSIVE in run.error
    execution = db.session.scalars(sa.select(Execution)).one()
    assert execution.status == "failed"
    assert TOO_EXPENSIVE in execution.error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
