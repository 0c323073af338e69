"""Schemathesis against the app, with a personal token of each role (admin, owner, approver,
viewer) and with none: every operation of /api/v1/openapi.json, as the app serves it, gets
generated requests, and every answer must be no 5xx, a documented status code and content
type, documented headers, and a body matching its documented schema.

The phases, explicitly: coverage (valid values at the boundaries of every documented parameter
and field; with the admin's token only, the one that gets furthest into every operation) and
fuzzing (random valid and invalid requests; every role, and no token). No examples phase (the
document has none), no stateful phase. Bounded and repeatable: a fixed seed, deterministic
generation, no example database, 8 fuzzed requests per operation and role. Half the generated
path ids are swapped for ids of seeded objects (a draft, a workflow, an execution waiting for
an approval, its request, a failed job), so successful answers are checked too, not only 404s.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from governance.approvals.models import ApprovalRequest
from governance.engine.models import Execution
from governance.extensions import db, huey
from governance.monitor.models import JobRecord
from governance.policies import service as policies
from tests import factories
from tests.factories import make_workflow, step

ROLES = ("admin", "owner", "approver", "viewer")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}
ONE_ATTEMPT = {"attempts": 1, "backoff": "fixed", "base_seconds": 0}


def _config(role: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 6,
            "generation": {"max-examples": 8, "deterministic": True, "database": "none"},
            "phases": {
                "examples": {"enabled": False},
                # Valid values only: invalid ones stop at request validation (422) in every
                # operation alike, and fuzzing sends those too.
                "coverage": {"enabled": role == "admin", "generation": {"mode": "positive"}},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
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


@pytest.fixture(params=[*ROLES, None], ids=[*ROLES, "no-token"])
def role(request) -> str | None:
    """Each role's token, and none at all (every operation must answer a documented 401)."""
    return request.param


@pytest.fixture
def api_schema(app, users, role):
    """The document as the app serves it, on a database with the objects seeded."""
    # Thousands of requests per token: the rate limit would answer them all with (documented)
    # 429s and hide everything else.
    saved = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    seeded = _seed(users)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=_config(role))

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        """Half the time, the ids of seeded objects instead of generated (mostly unknown) ones."""
        known = {name: seeded[name] for name in path_parameters or () if name in seeded}
        if not known:
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, path_parameters | known])

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
def test_every_operation_answers_as_documented(case, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
