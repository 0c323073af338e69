"""/api/v1/openapi.json is a valid OpenAPI 3.1 document, and says what the API accepts."""

from __future__ import annotations

from openapi_spec_validator import OpenAPIV31SpecValidator


def _document(api_as) -> dict:
    return api_as(None).get("openapi.json").json


def test_the_document_is_valid_openapi_3_1(app, api_as):
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in OpenAPIV31SpecValidator(_document(api_as)).iter_errors()
    ]
    assert errors == []


def test_a_field_left_out_to_keep_it_has_no_null_default(app, api_as):
    update = _document(api_as)["components"]["schemas"]["PolicyUpdate"]["properties"]
    assert "default" not in update["title"]
    assert update["review_frequency"]["default"] is None  # it may be sent as null to clear it


def test_each_business_rule_refusal_is_documented_where_it_can_happen(app, api_as):
    paths = _document(api_as)["paths"]
    patch = paths["/api/v1/policies/{policy_id}"]["patch"]["responses"]
    activate = paths["/api/v1/workflows/{workflow_id}/activate"]["post"]["responses"]
    listing = paths["/api/v1/policies"]["get"]["responses"]
    assert "`version` is stale" in patch["409"]["description"]
    assert "no such `version`" in activate["404"]["description"]
    assert patch["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "409" not in listing  # nothing on a list can be stale or busy


def test_a_created_object_links_to_the_operations_on_it(app, api_as):
    created = _document(api_as)["paths"]["/api/v1/policies"]["post"]["responses"]["201"]
    assert created["links"]["update_policy"] == {
        "operationId": "update_policy",
        "parameters": {"policy_id": "$response.body#/id"},
        "description": "Edit a draft policy (a new revision): the policy_id is this answer's id.",
    }


def test_a_workflow_read_is_a_put_body_and_the_read_links_to_saving_it_back(app, api_as):
    document = _document(api_as)
    schemas = document["components"]["schemas"]
    answer, update = schemas["WorkflowOut"]["properties"], schemas["WorkflowUpdate"]["properties"]
    assert set(update) == set(answer)
    read_only = {name for name, prop in update.items() if prop.get("readOnly")}
    assert read_only == set(answer) - {"name", "description", "version", "definition"}
    trigger = schemas["TriggerDefinition"]["properties"]
    assert {"from_status", "to_status", "cron", "summary"} <= set(trigger)
    assert trigger["summary"]["readOnly"] is True
    read = document["paths"]["/api/v1/workflows/{workflow_id}"]["get"]["responses"]["200"]
    assert read["links"]["update_workflow"]["requestBody"] == "$response.body"
