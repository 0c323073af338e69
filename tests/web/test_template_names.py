"""Step templates are strict about names: a save refuses a name the step cannot see, the dry
run lists names its data lacks, and at run time such a name fails the step (unless the
template gives a `default`) instead of printing nothing. Dicts and lists print as JSON."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.engine.definition import DefinitionError
from governance.engine.models import Execution, StepRun, Workflow, WorkflowVersion
from governance.notifications.models import Notification
from governance.policies.context import POLICY_FIELDS, policy_snapshot
from governance.workflows import service as workflows
from tests import factories
from tests.factories import count_rows, make_workflow, step

MANUAL = {"type": "manual"}


def _notify(key: str, subject: str, body: str = "") -> dict:
    return step(key, "notify", {"to_owner": True, "subject": subject, "body": body})


def _refusal(users, stages, trigger=MANUAL) -> dict[str, str]:
    with pytest.raises(DefinitionError) as refused:
        make_workflow(users["admin"], trigger=trigger, stages=stages)
    return refused.value.errors


def test_the_designer_refuses_unknown_names_and_names_them(as_role, users, db):
    form = {
        "name": "Hook then tell",
        "description": "",
        "trigger-type": "policy.created",
        "stage-0-present": "1",
        "stage-0-step-0-key": "tell",
        "stage-0-step-0-type": "notify",
        "stage-0-step-0-cfg-to_owner": "1",
        "stage-0-step-0-cfg-subject": "{{ polcy.title }}: {{ steps.hook2.output }}",
        "stage-0-step-0-cfg-body": "",
        "op": "save",
    }
    workflows_before = count_rows(db, Workflow)

    page = as_role("admin").submit("/workflows/new", form).get_data(as_text=True)

    assert (
        "Unknown name(s) in the subject template: "
        "steps.hook2 (no step hook2 in an earlier stage), polcy."
    ) in page
    assert count_rows(db, Workflow) == workflows_before


def test_a_step_reads_only_steps_of_earlier_stages(users, db):
    errors = _refusal(
        users,
        [[_notify("first", "Hi"), _notify("beside", "{{ steps.first.output.subject }}")]],
    )
    assert errors["stages.0.steps.1.config.subject"] == (
        "Unknown name(s) in the subject template: steps.first (first is in the same stage: "
        "steps of a stage run in parallel and cannot read each other)."
    )
    later = _refusal(
        users, [[_notify("first", "{{ steps.second.status }}")], [_notify("second", "Hi")]]
    )
    assert (
        "steps.second (no step second in an earlier stage)"
        in (later["stages.0.steps.0.config.subject"])
    )

    workflow = make_workflow(
        users["admin"],
        trigger=MANUAL,
        stages=[[_notify("first", "Hi")], [_notify("after", "{{ steps.first.output.subject }}")]],
    )
    assert workflow.id


def test_policy_and_trigger_fields_are_checked_against_the_chosen_trigger(users, db):
    errors = _refusal(
        users,
        [[_notify("tell", "{{ policy.titel }}", "{{ trigger.new_status }}")]],
        trigger={"type": "policy.created"},
    )
    assert "policy.titel (a policy has no field titel)" in errors["stages.0.steps.0.config.subject"]
    assert (
        "trigger.new_status (this trigger gives actor_id, policy_id, revision, status)"
        in (errors["stages.0.steps.0.config.body"])
    )
    task = step("todo", "create_task", {"title": "Review {{ policy.title }}", "assignee": "owner"})
    errors = _refusal(users, [[task]], trigger={"type": "schedule", "cron": "0 9 * * 1"})
    assert errors["stages.0.steps.0.config.title"] == (
        "Unknown name(s) in the title template: policy.title (a scheduled run has no policy)."
    )
    # A status change has new_status; a manual run's input and a webhook's body are open.
    make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[_notify("tell", "{{ policy.title }} is {{ trigger.new_status }}")]],
    )
    make_workflow(users["admin"], trigger=MANUAL, stages=[[_notify("tell", "{{ trigger.why }}")]])


def test_the_policy_names_a_save_allows_are_the_names_a_run_has(users, db):
    policy = factories.make_policy(users["owner"])
    assert tuple(policy_snapshot(policy)) == POLICY_FIELDS


def test_dicts_and_lists_in_a_notification_are_json(users, db):
    workflow = make_workflow(
        users["admin"],
        trigger=MANUAL,
        stages=[[_notify("tell", "Ticket {{ trigger.ticket }}", "{{ trigger.tags }}")]],
    )
    policy = factories.make_policy(users["owner"])
    workflows.run_manually(
        workflow.id,
        policy_id=policy.id,
        actor=users["admin"],
        input_data={"ticket": {"id": 7, "queue": "GRC"}, "tags": ["a", "b"]},
    )
    db.session.commit()
    factories.run_queued_steps()

    notification = db.session.scalars(sa.select(Notification)).one()
    assert notification.subject == 'Ticket {"id": 7, "queue": "GRC"}'
    assert notification.body == '["a", "b"]'


def test_an_undefined_name_at_run_time_fails_the_step_at_once(users, db):
    workflow = make_workflow(
        users["admin"],
        trigger=MANUAL,
        stages=[
            [
                step(
                    "tell",
                    "notify",
                    {"to_owner": True, "subject": "Why: {{ trigger.reason.code }}"},
                    retry={"attempts": 3, "backoff": "fixed", "base_seconds": 0},
                )
            ]
        ],
    )
    policy = factories.make_policy(users["owner"])
    workflows.run_manually(
        workflow.id, policy_id=policy.id, actor=users["admin"], input_data={"reason": {}}
    )
    db.session.commit()

    factories.run_queued_steps()

    db.session.expire_all()
    run = db.session.scalars(sa.select(StepRun)).one()
    assert (run.status, run.attempt) == ("failed", 1)
    assert run.error.startswith("Undefined name in the template: trigger.reason.code ")
    assert db.session.scalars(sa.select(Execution.status)).one() == "failed"
    assert count_rows(db, Notification) == 0


def test_a_default_covers_a_name_the_run_lacks_however_deep(users, db):
    workflow = make_workflow(
        users["admin"],
        trigger=MANUAL,
        stages=[[_notify("tell", "Why: {{ trigger.reason.code | default('none given') }}")]],
    )
    policy = factories.make_policy(users["owner"])
    workflows.run_manually(workflow.id, policy_id=policy.id, actor=users["admin"])
    db.session.commit()

    factories.run_queued_steps()

    assert db.session.scalars(sa.select(StepRun.status)).one() == "succeeded"
    assert db.session.scalars(sa.select(Notification.subject)).one() == "Why: none given"


def test_the_dry_run_lists_the_names_that_would_be_undefined(as_role, users, db):
    workflow = make_workflow(
        users["admin"],
        trigger=MANUAL,
        stages=[
            [_notify("first", "First")],
            [_notify("tell", "{{ steps.first.output.subjekt }} / {{ trigger.reason }}")],
        ],
    )
    policy = factories.make_policy(users["owner"], title="Travel")
    versions = count_rows(db, WorkflowVersion)

    page = as_role("admin").get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        "Undefined: <code>steps.first.output.subjekt</code>, <code>trigger.reason</code>. "
        "At run time this step fails"
    ) in text
    assert count_rows(db, WorkflowVersion) == versions


# The designer's triggers, in its order: each registered once, by its feature's register(app).
DESIGNER_TRIGGERS = [
    "policy.created",
    "policy.updated",
    "policy.status_changed",
    "policy.review_due",
    "manual",
    "schedule",
    "webhook",
    "exception.requested",
]


def test_every_trigger_says_which_fields_its_data_has(app):
    from governance.engine.triggers import trigger_types

    # A registered trigger type always declares its data's fields (or None: the caller's).
    assert list(trigger_types()) == DESIGNER_TRIGGERS


def test_the_designer_lists_the_triggers_in_their_order_whatever_the_registration_order(app):
    from governance.engine.triggers import register_trigger, trigger_types, unregister_trigger

    first = trigger_types()["policy.created"]
    unregister_trigger(first.name)
    register_trigger(first)  # now the last registered

    assert list(trigger_types()) == DESIGNER_TRIGGERS
