"""/api/v1/workflows/{id}/signing-secret: admins read and rotate the outbound webhook secret;
nobody else learns anything about it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from governance.api.views import openapi_document
from governance.timeutil import utcnow
from tests import factories
from tests.factories import signing_secret_audit_actions, signing_secrets


@pytest.fixture
def workflow(users):
    return factories.make_workflow(
        users["admin"],
        trigger={"type": "manual"},
        stages=[[factories.step("note", "notify", {"to_owner": True, "subject": "Hi"})]],
    )


def test_an_admin_reads_the_secret_and_the_read_is_audited(api_as, db, workflow):
    response = api_as("admin").get(f"workflows/{workflow.id}/signing-secret")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "secret": workflow.signing_secret,
        "previous_secret": None,
        "previous_expires_at": None,
    }
    assert response.json["secret"].startswith("whsec_")
    assert signing_secret_audit_actions(db) == ["workflow.signing_secret_read"]
    for unknown in (4242, 2**31, 2**63, 10**20):
        assert api_as("admin").get(f"workflows/{unknown}/signing-secret").status_code == 404
        rotate = api_as("admin").post(f"workflows/{unknown}/signing-secret/rotate")
        assert rotate.status_code == 404


@pytest.mark.parametrize("role", ["viewer", "owner", "approver", None])
def test_nobody_but_an_admin_reads_or_rotates_it(api_as, db, workflow, role):
    before = signing_secrets(db, workflow.id)
    client = api_as(role)
    read = client.get(f"workflows/{workflow.id}/signing-secret")
    rotate = client.post(f"workflows/{workflow.id}/signing-secret/rotate", json={})

    for response in (read, rotate):
        assert response.status_code == (401 if role is None else 403)
        assert workflow.signing_secret not in response.get_data(as_text=True)
    assert signing_secrets(db, workflow.id) == before
    assert signing_secret_audit_actions(db) == []


def test_a_rotation_keeps_the_previous_secret_signing_for_the_grace_period(api_as, db, workflow):
    old = workflow.signing_secret

    response = api_as("admin").post(
        f"workflows/{workflow.id}/signing-secret/rotate", json={"grace_hours": 48}
    )

    assert response.status_code == 200, response.json
    new, previous, expires = signing_secrets(db, workflow.id)
    assert response.json["secret"] == new != old
    assert response.json["previous_secret"] == previous == old
    assert datetime.fromisoformat(response.json["previous_expires_at"]) == expires
    assert timedelta(hours=47) < expires - utcnow() <= timedelta(hours=48)
    assert signing_secret_audit_actions(db) == ["workflow.signing_secret_rotated"]


def test_without_a_body_the_configured_grace_period_applies(api_as, app, db, workflow):
    old = workflow.signing_secret
    app.config["WEBHOOK_SECRET_GRACE_HOURS"] = 6
    try:
        response = api_as("admin").post(f"workflows/{workflow.id}/signing-secret/rotate")
    finally:
        app.config["WEBHOOK_SECRET_GRACE_HOURS"] = 24

    assert response.status_code == 200, response.json
    _, previous, expires = signing_secrets(db, workflow.id)
    assert previous == old
    assert timedelta(hours=5) < expires - utcnow() <= timedelta(hours=6)


def test_a_whole_number_written_with_a_fraction_part_is_the_integer_it_names(api_as, db, workflow):
    # JSON Schema's integer: 24.0 is one, as schemathesis' positive data check expects.
    response = api_as("admin").post(
        f"workflows/{workflow.id}/signing-secret/rotate", json={"grace_hours": 6.0}
    )

    assert response.status_code == 200, response.json
    _, _, expires = signing_secrets(db, workflow.id)
    assert timedelta(hours=5) < expires - utcnow() <= timedelta(hours=6)


@pytest.mark.parametrize(
    "body",
    [
        {"grace_hours": True},
        {"grace_hours": "24"},
        {"grace_hours": 2.5},
        {"grace_hours": -1},
        {"grace_hours": 721},
        {"grace_hours": 2**70},
        {"grace": 24},
        [24],
    ],
)
def test_a_rotation_with_a_bad_body_is_422_and_changes_nothing(api_as, db, workflow, body):
    before = signing_secrets(db, workflow.id)

    response = api_as("admin").post(f"workflows/{workflow.id}/signing-secret/rotate", json=body)

    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_failed"
    assert signing_secrets(db, workflow.id) == before
    assert signing_secret_audit_actions(db) == []


def test_the_workflow_answer_says_whether_the_legacy_inbound_signature_is_accepted(
    api_as, workflow
):
    response = api_as("admin").get(f"workflows/{workflow.id}")

    assert response.json["inbound_legacy_signature"] is False
    assert workflow.signing_secret not in response.get_data(as_text=True)


def test_the_openapi_document_describes_both_operations_exactly():
    paths = openapi_document("Steward API", "test")["paths"]

    read = paths["/api/v1/workflows/{workflow_id}/signing-secret"]["get"]
    rotate = paths["/api/v1/workflows/{workflow_id}/signing-secret/rotate"]["post"]

    assert set(read["responses"]) == {"200", "401", "403", "404", "429"}
    assert set(rotate["responses"]) == {"200", "400", "401", "403", "404", "413", "422", "429"}
    assert rotate["requestBody"]["required"] is False
    schemas = openapi_document("Steward API", "test")["components"]["schemas"]
    grace = schemas["RotateSecretIn"]["properties"]["grace_hours"]
    assert {"type": "integer", "minimum": 0, "maximum": 720} in grace["anyOf"]
    assert schemas["RotateSecretIn"]["additionalProperties"] is False
    assert set(schemas["SigningSecretOut"]["required"]) == {
        "secret",
        "previous_secret",
        "previous_expires_at",
    }
