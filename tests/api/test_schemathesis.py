"""Schemathesis against the app with every check it has (`--checks all`): with a personal
token of each role (admin, owner, approver, viewer) and with none, every operation of
/api/v1/openapi.json, as the app serves it, gets generated requests. An answer fails on a 5xx,
an undocumented status code, content type or header, a body off its documented schema, a
schema-valid request refused, a schema-violating one accepted, a method not refused with 405
and Allow, an ignored token, and (stateful) a created object that cannot be read back or a
deleted one that still can.

"Refused" means a 4xx other than 401/403/404/409/429: the statuses of business rules. Where
the document says a rule the schema cannot express may also answer 422 (an operation's
`refusals`: an unknown user in a workflow's step, a policy owner who is not one), that 422 is
allowed too, for that operation only.

The phases: fuzzing (random valid and invalid requests) for every token, and for the admin's
and the viewer's (the most and the least a token may do) also coverage (the boundaries of
every documented parameter and field, valid and invalid) and the stateful phase, which
follows the document's links (create a policy, then read, edit and move it). No examples
phase (the document has none). Bounded and repeatable: a fixed seed, deterministic
generation, no example database, a few fuzzed requests per operation and role (8 for the
admin and the viewer, 4 for the others). Half the
generated path ids are swapped for ids of seeded objects (a draft, a workflow, an execution
waiting for an approval, its request, a failed job), so successful answers are checked too,
not only 404s.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from governance.api.spec import OPERATIONS
from governance.approvals.models import ApprovalRequest
from governance.engine.models import Execution, Workflow
from governance.extensions import db, huey
from governance.policies import service as policies
from governance.queues.models import JobRecord
from governance.workflows import service as workflows
from tests import factories
from tests.factories import make_workflow, step

ROLES = ("admin", "owner", "approver", "viewer")
# The most and the least a token may do: these two also get the coverage and stateful phases.
THOROUGH_ROLES = ("admin", "viewer")
# Fuzzed requests per operation: the thorough roles get more; the others (owner, approver, no
# token) differ from them mostly in which answer a valid request gets (201, 403 or 401), which a
# few requests per operation already meet, and every check still runs on each of them.
FUZZED_EXAMPLES = {"thorough": 8, "other": 4}
SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}
ONE_ATTEMPT = {"attempts": 1, "backoff": "fixed", "base_seconds": 0}
# What positive_data_acceptance allows by default: success, and refusals no schema could rule
# out (credentials, a missing object, a conflict, the rate limit).
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def _rule_refusals() -> list[dict]:
    """Per operation, the statuses its documented business rules answer a schema-valid
    request with, besides those schemathesis already allows."""
    return [
        {
            "include-operation-id": op.endpoint,
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [
                        *ACCEPTED,
                        *(str(status) for status in op.refusals),
                    ]
                }
            },
        }
        for op in OPERATIONS
        if op.refusals
    ]


def _config(role: str | None, token: str | None) -> schemathesis.Config:
    # The token as the document's security scheme: schemathesis then knows the credentials it
    # sends, and also tries the operation without them (which must answer 401).
    auth = {"auth": {"openapi": {"bearerAuth": {"bearer": token}}}} if token else {}
    return schemathesis.Config.from_dict(
        auth
        | {
            "seed": 6,
            # Off: schemathesis would take literal values from every module imported so far,
            # so what it generates (and replays) would depend on which tests ran before.
            "analysis": {"constants": {"enabled": False}},
            "generation": {
                "max-examples": FUZZED_EXAMPLES["thorough" if role in THOROUGH_ROLES else "other"],
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": role in THOROUGH_ROLES},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": role in THOROUGH_ROLES, "max-steps": 8},
            },
            "operations": _rule_refusals(),
        }
    )


def _consume_queue() -> None:
    """Run every waiting message as a consumer would, so Huey's signals record the jobs."""
    while huey.pending_count() and (task := huey.dequeue()) is not None:
        huey.execute(task)


def _seed(users) -> dict[str, int]:
    """Ids of seeded objects by the path parameter naming them. Each object is made before the
    workflows that would react to it: fewer steps to run."""
    admin, owner = users["admin"], users["owner"]
    legal = users["approver"].groups[0]
    factories.make_policy(owner, "published", admin=admin, title="Passwords")
    review = make_workflow(
        admin,
        name="Legal review",
        trigger=SUBMITTED,
        stages=[
            [step("legal", "approval", {"groups": [legal.id], "due_hours": 24})],
            [step("tell", "notify", {"to_owner": True, "subject": "Decided", "body": "Done"})],
        ],
    )
    submitted = factories.make_policy(owner, title="Data Retention")
    policies.transition_policy(submitted.id, "in_review", actor=owner)
    # A draft cannot be published directly: this step fails for good, leaving a failed job.
    make_workflow(
        admin,
        name="Publish at once",
        trigger={"type": "policy.created"},
        stages=[[step("publish", "set_status", {"status": "published"}, retry=ONE_ATTEMPT)]],
    )
    draft = factories.make_policy(owner, title="Clean Desk")
    _consume_queue()
    waiting = db.session.scalars(
        sa.select(Execution).where(
            Execution.policy_id == submitted.id, Execution.status == "waiting"
        )
    ).one()
    request = db.session.scalars(
        sa.select(ApprovalRequest).where(ApprovalRequest.execution_id == waiting.id)
    ).first()
    failed_job = db.session.scalars(
        sa.select(JobRecord).where(JobRecord.status == "error").order_by(JobRecord.id)
    ).first()
    return {
        "policy_id": draft.id,
        "workflow_id": review.id,
        "execution_id": waiting.id,
        "request_id": request.id,
        "job_id": failed_job.id,
    }


def _path_is_valid(case) -> bool:
    component = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    return component is None or component.mode.is_positive


def _with_path(case, values: dict[str, int]):
    case.path_parameters = case.path_parameters | values
    return case


@pytest.fixture(params=[*ROLES, None], ids=[*ROLES, "no-token"])
def role(request) -> str | None:
    """Each role's token, and none at all (every operation must answer a documented 401)."""
    return request.param


@pytest.fixture
def api_schema(app, users, role, token):
    """The document as the app serves it, on a database with the objects seeded."""
    # Thousands of requests per token: the rate limit would answer them all with (documented)
    # 429s and hide everything else.
    saved = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    seeded = _seed(users)
    config = _config(role, token)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)

    @schema.hook
    def flatmap_case(context, case):
        """Half the time, the ids of seeded objects instead of generated (mostly unknown) ones;
        only where the path is meant to be valid, so an invalid one still reaches the app."""
        known = {name: seeded[name] for name in case.path_parameters or () if name in seeded}
        if not known or not _path_is_valid(case):
            return st.just(case)
        return st.booleans().map(lambda swap: _with_path(case, known) if swap else case)

    yield schema
    app.config["API_RATE_LIMIT"] = saved


@pytest.fixture
def token(users, api_token, role) -> str | None:
    return api_token(users[role]) if role else None


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    # schemathesis 4.32 labels each operation's subtest through `Node._nodeid`, which pytest
    # 9.2 replaced (it now fails with AttributeError); give it the attribute back.
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# The seeded objects serve every request of one operation, on purpose.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case):
    case.call_and_validate()


def _reactivate_seeded_workflows(admin) -> None:
    """Each sequence starts with the seeded workflows active, whatever the one before
    deactivated: which links a sequence can follow depends on their answers (a deactivate that
    answers 200 or 422), and hypothesis refuses a replay that finds other links to follow."""
    for workflow in db.session.scalars(sa.select(Workflow).where(Workflow.status == "inactive")):
        number = workflow.active_version.number if workflow.active_version else None
        workflows.activate(workflow.id, actor=admin, version_number=number)


@pytest.mark.parametrize("role", THOROUGH_ROLES, indirect=True)
def test_linked_operations_hold_together(api_schema, users):
    """The stateful phase: sequences that follow the document's links."""

    class Sequences(api_schema.as_state_machine()):
        def teardown(self) -> None:
            _reactivate_seeded_workflows(users["admin"])

    Sequences.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=8,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
