"""Separation of duties across steps: Priya, in both Legal and Security, decides one of the
two parallel approval steps of an execution when the workflow says one person decides at most
one approval step, or when a step is "distinct from the approvers of" the other; she is
refused on the other wherever she decides from (inbox, bulk, API, execution page)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.approvals import service as approvals
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine.definition import DefinitionError, validate_definition
from governance.engine.models import Execution, StepRun
from governance.errors import Conflict
from governance.workflows import service as workflows
from tests import factories
from tests.conftest import ApiClient
from tests.factories import approval_requests, make_workflow, step, submit_for_review

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}
ONE_STEP = "in this workflow one person decides at most one approval step"
DISTINCT = "this step's approvers must be different people from that step's"


def _groups(users):
    return users["approver"].groups[0], users["security"].groups[0]  # Legal, Security


def _priya(users):
    return factories.make_user(
        "approver", email="priya@example.test", name="Priya", groups=list(_groups(users))
    )


def _parallel_review(users, *, one_step_per_person=False, legal_config=None, name=None):
    """Legal and Security approve in parallel, as the demo's "Review on submit"."""
    legal, security = _groups(users)
    return make_workflow(
        users["admin"],
        name=name,
        trigger=SUBMITTED,
        one_step_per_person=one_step_per_person,
        stages=[
            [
                step(
                    "legal",
                    "approval",
                    {"groups": [legal.id], "rule": "any"} | (legal_config or {}),
                ),
                step("security", "approval", {"groups": [security.id], "rule": "any"}),
            ],
            [step("approve", "set_status", {"status": "approved"})],
        ],
    )


def _requests(db):
    """{step key: its request}."""
    rows = approval_requests(db)
    keys = dict(db.session.execute(sa.select(StepRun.id, StepRun.step_key)).all())
    return {keys[row.step_run_id]: row for row in rows}


def _state(db) -> list[tuple]:
    db.session.expire_all()
    return [
        *db.session.execute(
            sa.select(ApprovalRequest.id, ApprovalRequest.status, ApprovalRequest.decided_by_id)
        ),
        *db.session.execute(sa.select(StepRun.id, StepRun.status)),
        *db.session.execute(sa.select(Execution.id, Execution.status)),
        *db.session.execute(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("approval.%"))
        ),
    ]


def _decide(client, request_id, decision="approved", *, htmx=False, origin="inbox"):
    return client.submit(
        f"/approvals/{request_id}/decide",
        {"decision": decision, "comment": "", "origin": origin},
        token_from="/approvals",
        headers={"HX-Request": "true"} if htmx else {},
    )


# ------------------------------------------------------------------ the decision service


def test_priya_decides_one_step_and_is_refused_the_other_when_the_setting_is_on(db, users):
    priya = _priya(users)
    _parallel_review(users, one_step_per_person=True)
    submit_for_review(users)
    requests = _requests(db)
    assert approvals.record_decision(requests["legal"].id, user=priya, decision="approved") == (
        "approved"
    )
    before = _state(db)
    with pytest.raises(Conflict, match=ONE_STEP) as refused:
        approvals.record_decision(
            requests["security"].id, user=priya, decision="rejected", comment="no"
        )
    assert "“legal”" in refused.value.message
    db.session.rollback()
    assert _state(db) == before
    # Sam, Security's other member, decides it and the workflow moves on.
    assert (
        approvals.record_decision(
            requests["security"].id, user=users["security"], decision="approved"
        )
        == "approved"
    )


def test_with_the_setting_off_priya_still_decides_both_steps(db, users):
    priya = _priya(users)
    _parallel_review(users, one_step_per_person=False)
    submit_for_review(users)
    requests = _requests(db)
    approvals.record_decision(requests["legal"].id, user=priya, decision="approved")
    assert (
        approvals.record_decision(requests["security"].id, user=priya, decision="approved")
        == "approved"
    )


def test_a_step_distinct_from_another_keeps_their_deciders_apart_either_way_round(db, users):
    priya = _priya(users)
    _parallel_review(users, legal_config={"distinct_from": "security"})
    # Security decided first: Legal (the step with the option) refuses her.
    submit_for_review(users)
    requests = _requests(db)
    approvals.record_decision(requests["security"].id, user=priya, decision="approved")
    with pytest.raises(Conflict, match=DISTINCT):
        approvals.record_decision(requests["legal"].id, user=priya, decision="approved")
    db.session.rollback()
    # Legal decided first: Security refuses her too, since the two steps are tied.
    submit_for_review(users)
    second = [r for r in approval_requests(db) if r.execution_id != requests["legal"].execution_id]
    legal_run = next(r for r in second if r.step_run.step_key == "legal")
    security_run = next(r for r in second if r.step_run.step_key == "security")
    approvals.record_decision(legal_run.id, user=priya, decision="approved")
    with pytest.raises(Conflict, match=DISTINCT):
        approvals.record_decision(security_run.id, user=priya, decision="approved")


def test_a_step_of_another_execution_does_not_count(db, users):
    priya = _priya(users)
    _parallel_review(users, one_step_per_person=True)
    submit_for_review(users)
    first = _requests(db)
    submit_for_review(users)
    second = [r for r in approval_requests(db) if r.execution_id != first["legal"].execution_id]
    approvals.record_decision(first["legal"].id, user=priya, decision="approved")
    security = next(r for r in second if r.step_run.step_key == "security")
    assert approvals.record_decision(security.id, user=priya, decision="approved") == "approved"


# ------------------------------------------------------------------ the definition


def test_distinct_from_must_name_another_approval_step_of_the_workflow(db, users):
    legal, security = _groups(users)

    def definition(distinct_from: str) -> dict:
        return {
            "trigger": SUBMITTED,
            "conditions": [],
            "stages": [
                [
                    step(
                        "legal", "approval", {"groups": [legal.id], "distinct_from": distinct_from}
                    ),
                    step("security", "approval", {"groups": [security.id]}),
                    step("tell", "notify", {"to_owner": True, "subject": "s", "body": "b"}),
                ]
            ],
        }

    def problems(distinct_from: str) -> dict[str, str]:
        raw = definition(distinct_from)
        raw["stages"] = [{"steps": steps} for steps in raw["stages"]]
        with pytest.raises(DefinitionError) as error:
            validate_definition(raw)
        return error.value.errors

    path = "stages.0.steps.0.config.distinct_from"
    assert "cannot be kept apart from itself" in problems("legal")[path]
    assert "“tell” is not an approval step" in problems("tell")[path]
    assert "“nowhere” is not an approval step" in problems("nowhere")[path]
    raw = definition("security")
    raw["stages"] = [{"steps": steps} for steps in raw["stages"]]
    assert (
        validate_definition(raw)["stages"][0]["steps"][0]["config"]["distinct_from"] == "security"
    )


def test_a_definition_without_the_setting_reads_as_off(db, users):
    legal, _ = _groups(users)
    clean = validate_definition(
        {
            "trigger": SUBMITTED,
            "stages": [{"steps": [step("legal", "approval", {"groups": [legal.id]})]}],
        }
    )
    assert clean["one_step_per_person"] is False


# ------------------------------------------------------------------ what Priya sees


def test_the_inbox_shows_priya_why_and_no_buttons_and_bulk_skips_it(login, as_role, db, users):
    priya = _priya(users)
    _parallel_review(users, one_step_per_person=True)
    submit_for_review(users)
    requests = _requests(db)
    client = login(priya)
    html = client.get("/approvals").get_data(as_text=True)
    assert f"/approvals/{requests['security'].id}/decide" in html  # both open before she decides
    assert _decide(client, requests["legal"].id, htmx=True).status_code == 200

    html = client.get("/approvals").get_data(as_text=True)
    assert f'id="request-{requests["security"].id}"' in html
    assert "You already decided step “legal” of this execution" in html
    assert f"/approvals/{requests['security'].id}/decide" not in html
    assert f'value="{requests["security"].id}"' not in html  # no bulk checkbox either
    before = _state(db)
    # A forged post: 409 with the reason, nothing recorded.
    response = _decide(client, requests["security"].id, htmx=True)
    assert response.status_code == 409
    assert ONE_STEP in response.get_data(as_text=True)
    # Bulk: skipped, with the reason.
    client.submit(
        "/approvals/bulk",
        {"request_ids": [requests["security"].id], "comment": ""},
        token_from="/approvals",
    )
    html = client.get("/approvals").get_data(as_text=True)
    assert f"Request {requests['security'].id} was not approved: You already decided step" in html
    assert _state(db) == before
    # Sam still sees Security's buttons.
    sam_html = as_role("security").get("/approvals").get_data(as_text=True)
    assert f"/approvals/{requests['security'].id}/decide" in sam_html


def test_the_execution_page_form_is_refused_with_the_reason(login, db, users):
    priya = _priya(users)
    _parallel_review(users, one_step_per_person=True)
    submit_for_review(users)
    requests = _requests(db)
    client = login(priya)
    _decide(client, requests["legal"].id, origin="execution")
    before = _state(db)
    response = _decide(client, requests["security"].id, origin="execution")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ONE_STEP in page
    assert _state(db) == before


def test_the_api_answers_409_with_the_error_shape(app, api_token, db, users):
    priya = _priya(users)
    _parallel_review(users, one_step_per_person=True)
    submit_for_review(users)
    requests = _requests(db)
    client = ApiClient(app, api_token(priya))
    first = client.post(f"approvals/{requests['legal'].id}/decision", json={"decision": "approve"})
    assert first.status_code == 200, first.json
    before = _state(db)
    response = client.post(
        f"approvals/{requests['security'].id}/decision", json={"decision": "approve"}
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert ONE_STEP in response.json["error"]["message"]
    assert _state(db) == before


# ------------------------------------------------------------------ the designer and the API


def _designer_fields(users, **extra) -> dict:
    legal, security = _groups(users)
    return {
        "name": "Two-step review",
        "description": "",
        "trigger-type": "policy.status_changed",
        "trigger-to_status": "in_review",
        "stage-0-present": "1",
        "stage-0-step-0-key": "legal",
        "stage-0-step-0-type": "approval",
        "stage-0-step-0-cfg-groups": [str(legal.id)],
        "stage-0-step-0-cfg-rule": "any",
        "stage-0-step-1-key": "security",
        "stage-0-step-1-type": "approval",
        "stage-0-step-1-cfg-groups": [str(security.id)],
        "stage-0-step-1-cfg-rule": "any",
        "op": "save",
    } | extra


def test_the_designer_starts_a_new_workflow_with_the_setting_on(as_role, db, users):
    html = as_role("admin").get("/workflows/new").get_data(as_text=True)
    assert 'name="one_step_per_person" value="1"' in html
    assert "checked> One person decides at most one approval step of an execution" in html


def test_the_designer_saves_the_setting_and_the_step_option(as_role, db, users):
    client = as_role("admin")
    response = client.submit(
        "/workflows/new",
        _designer_fields(users, **{"stage-0-step-1-cfg-distinct_from": "legal"}),
        token_from="/workflows/new",
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    workflow = workflows.list_workflows()[0]
    definition = workflows.latest_version(workflow).definition
    # The checkbox was not ticked: off.
    assert definition["one_step_per_person"] is False
    assert definition["stages"][0]["steps"][1]["config"]["distinct_from"] == "legal"
    page = client.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert "approvers distinct from step “legal”" in page
    assert "except where a step says its approvers are distinct" in page
    edit = client.get(f"/workflows/{workflow.id}/edit").get_data(as_text=True)
    assert '<option value="legal" selected>legal</option>' in edit
    assert "checked> One person decides" not in edit

    response = client.submit(
        f"/workflows/{workflow.id}/edit",
        _designer_fields(users, one_step_per_person="1"),
        token_from=f"/workflows/{workflow.id}/edit",
    )
    assert response.status_code in (302, 303)
    db.session.expire_all()
    assert workflows.latest_version(workflow).definition["one_step_per_person"] is True
    page = client.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert "one person decides at most one approval step of an execution" in page


def test_the_designer_refuses_a_step_kept_apart_from_itself(as_role, db, users):
    client = as_role("admin")
    response = client.submit(
        "/workflows/new",
        _designer_fields(users, **{"stage-0-step-1-cfg-distinct_from": "security"}),
        token_from="/workflows/new",
    )
    assert response.status_code == 200
    assert "cannot be kept apart from itself" in response.get_data(as_text=True)
    assert workflows.list_workflows() == []


def test_the_api_carries_the_setting_on_for_new_workflows_and_kept_on_new_versions(
    api_as, db, users
):
    legal, security = _groups(users)
    body = {
        "name": "API review",
        "definition": {
            "trigger": {"type": "policy.status_changed", "to_status": "in_review"},
            "stages": [
                {
                    "steps": [
                        {"key": "legal", "type": "approval", "config": {"groups": [legal.id]}},
                        {
                            "key": "security",
                            "type": "approval",
                            "config": {"groups": [security.id], "distinct_from": "legal"},
                        },
                    ]
                }
            ],
        },
    }
    client = api_as("admin")
    created = client.post("workflows", json=body)
    assert created.status_code == 201, created.json
    latest = created.json["definition"]
    assert latest["one_step_per_person"] is True
    assert latest["stages"][0]["steps"][1]["config"]["distinct_from"] == "legal"
    workflow_id = created.json["id"]
    off = body | {"version": 1}
    off["definition"] = body["definition"] | {"one_step_per_person": False}
    saved = client.request("PUT", f"workflows/{workflow_id}", json=off)
    assert saved.json["definition"]["one_step_per_person"] is False
    # Left out on a new version: as the latest version has it (off here).
    saved = client.request("PUT", f"workflows/{workflow_id}", json=body | {"version": 2})
    assert saved.status_code == 200, saved.json
    assert saved.json["definition"]["one_step_per_person"] is False
    wrong = body | {"version": 3}
    wrong["definition"] = body["definition"] | {
        "stages": [{"steps": [body["definition"]["stages"][0]["steps"][1]]}]
    }
    refused = client.request("PUT", f"workflows/{workflow_id}", json=wrong)
    assert refused.status_code == 422
    assert refused.json["error"]["details"][0]["field"] == (
        "definition.stages.0.steps.0.config.distinct_from"
    )


# ------------------------------------------------------------------ the demo


def test_in_the_demo_priya_decides_legal_or_security_not_both(app, db, client):
    from devdata.demo import DEMO_PASSWORD
    from governance.auth.models import User
    from governance.policies.models import Policy

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    priya = db.session.scalar(sa.select(User).where(User.email == "priya@example.org"))
    policy_id = db.session.scalar(
        sa.select(Policy.id).where(Policy.title == "Vendor Access Management")
    )
    execution_id = db.session.scalar(
        sa.select(Execution.id).where(Execution.policy_id == policy_id)
    )
    requests = {
        row.step_run.step_key: row
        for row in approval_requests(db)
        if row.execution_id == execution_id
    }
    assert client.login(priya.email, DEMO_PASSWORD).status_code == 302
    assert _decide(client, requests["legal"].id).status_code == 303
    html = client.get("/approvals").get_data(as_text=True)
    assert "You already decided step “legal” of this execution" in html
    assert f"/approvals/{requests['security'].id}/decide" not in html
