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
