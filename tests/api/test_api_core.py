"""What every API operation shares: the role check comes first, bodies are bounded, and the
OpenAPI document says what each operation needs."""

from __future__ import annotations

import sqlalchemy as sa

from governance.policies.models import Policy


def test_a_caller_without_the_role_gets_403_whatever_the_body(api_as, db):
    viewer = api_as("viewer")

    for body in ({"title": 5, "bogus": True}, None):
        response = viewer.post("policies", json=body)
        assert response.status_code == 403, response.json
        assert response.json["error"]["code"] == "forbidden"
    response = viewer.request("POST", "policies", data="{", content_type="application/json")
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Policy)) == 0


def test_a_body_nested_too_deeply_is_a_400_not_a_crash(api_as, db):
    nested = "[" * 100_000 + "]" * 100_000

    response = api_as("owner").request(
        "POST", "policies", data=nested, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json["error"] == {
        "code": "malformed_json",
        "message": "The body is nested too deeply.",
        "details": [],
    }


def test_the_document_marks_optional_bodies_and_roles(app, api_as):
    document = api_as(None).get("openapi.json").json

    cancel = document["paths"]["/api/v1/executions/{execution_id}/cancel"]["post"]
    create = document["paths"]["/api/v1/policies"]["post"]
    assert cancel["requestBody"]["required"] is False
    assert create["requestBody"]["required"] is True
    assert create["description"].startswith("Roles: owner, admin.")
