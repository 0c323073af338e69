"""API operations and the OpenAPI 3.1 document built from them.

Each endpoint is declared once with `@operation(...)`: its path, method, the pydantic models
of its query, body and responses, and the roles that may call it. The same models validate
the request and describe it in /api/v1/openapi.json, so the document cannot drift from the
code. Error responses every operation can give (401, 403, 404, 422, 429...) are added here,
and each operation names the business rules that refuse a well-formed request (`refusals`:
stale version, wrong state, unknown version...), so the document says when each status comes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from governance.api.auth import require_roles
from governance.api.errors import ApiError, validation_details
from governance.api.schemas import MAX_ID, DocumentSchema, ErrorBody

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_BODY_BYTES = 1_000_000
ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No token, or an unknown, revoked or expired one.",
    403: "The token's user lacks the role this needs.",
    404: "No such object, or not one this user may see.",
    409: "The object changed meanwhile or is busy.",
    413: "The body is too large.",
    422: "Invalid or unknown fields; `details` lists every one.",
    429: "Too many requests for this token; see Retry-After.",
}
# Headers every answer with that status carries (auth.py sends them).
ERROR_HEADERS = {
    401: {"WWW-Authenticate": "The Bearer challenge (RFC 6750)."},
    429: {"Retry-After": "Seconds until this token may call again."},
}


@dataclass(frozen=True)
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    roles: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    body_required: bool
    responses: dict[int, type[BaseModel] | None]
    refusals: dict[int, str]
    errors: tuple[int, ...] = ()
    description: str = ""
    headers: dict[int, dict[str, str]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    body_links: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", (bp.url_prefix or "") + self.rule)

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.rule)


OPERATIONS: list[Operation] = []


def operation(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    responses: dict[int, type[BaseModel] | None],
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    roles: tuple[str, ...] = (),
    refusals: dict[int, str] | None = None,
    errors: tuple[int, ...] = (),
    description: str = "",
    headers: dict[int, dict[str, str]] | None = None,
    links: dict[str, str] | None = None,
    body_links: tuple[str, ...] = (),
) -> Callable:
    """Register an API view. It receives path values, `query=` and `body=` as validated models,
    and returns a model (answered with the first documented status), a (model, status) or
    (model, status, headers) tuple, or a Response.

    `roles` are checked before anything is read, so a caller without them learns nothing
    about their request but 403. A body that is not required may be left out (its defaults).
    `refusals` says, by status, which rules refuse a request the schema allows (`errors` adds
    statuses with their general description only). `links` name the operations (by endpoint)
    whose path parameter takes the `id` of the success answer; `body_links` those of them whose
    body is the answer itself (a PUT that takes back what a GET read)."""

    def decorator(view: Callable) -> Callable:
        success = next(iter(responses))

        @functools.wraps(view)
        def run(**path_values):
            if any(isinstance(value, int) and value > MAX_ID for value in path_values.values()):
                raise ApiError(404, "There is no such resource.")
            if roles:
                require_roles(*roles)
            kwargs = dict(path_values)
            if query is not None:
                kwargs["query"] = _parse(query, request.args.to_dict())
            if body is not None:
                data = _json_body()
                kwargs["body"] = _parse(body, {} if data is None and not body_required else data)
            return _respond(view(**kwargs), success)

        endpoint = view.__name__
        bp.add_url_rule(rule, endpoint=endpoint, view_func=run, methods=[method])
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method.lower(),
                endpoint=endpoint,
                summary=summary,
                tag=tag,
                roles=roles,
                query=query,
                body=body,
                body_required=body_required,
                responses=responses,
                refusals=refusals or {},
                errors=errors,
                description=description,
                headers=headers or {},
                links=links or {},
                body_links=body_links,
            )
        )
        return run

    return decorator


def _json_body() -> object:
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, f"The body is larger than {MAX_BODY_BYTES:,} bytes.")
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw or b"null")
    except ValueError as error:
        message = f"The body is not valid JSON: {error}."
        raise ApiError(400, message, code="malformed_json") from error
    except RecursionError as error:  # [[[[... nested deeper than Python's stack
        raise ApiError(400, "The body is nested too deeply.", code="malformed_json") from error


def _parse(model: type[BaseModel], data: object) -> BaseModel:
    if data is None:
        raise ApiError(
            422, "Send a JSON object.", details=[{"field": None, "message": "Body missing."}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = validation_details(error)
        raise ApiError(422, "Some fields are invalid.", details=details) from error


def _respond(result, success: int) -> Response:
    if isinstance(result, Response):
        return result
    headers: dict[str, str] = {}
    status = success
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else {}
    if result is None:
        response = Response(status=status)
    else:
        response = jsonify(result.model_dump(mode="json"))
        response.status_code = status
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- the document


def _error_statuses(op: Operation) -> list[int]:
    statuses = {401, 403, 429, *op.refusals, *op.errors}
    if op.path_parameters:
        statuses.add(404)
    if op.body is not None:
        statuses |= {400, 413, 422}
    if op.query is not None:
        statuses.add(422)
    return sorted(statuses)


def _error_description(op: Operation, status: int) -> str:
    general = ERROR_DESCRIPTIONS.get(status, "Error")
    rule = op.refusals.get(status)
    if rule is None:
        return general
    # A conflict is only ever a rule's; the other statuses also have their general causes.
    return rule if status == 409 else f"{general} {rule}"


def _links(op: Operation) -> dict[str, dict]:
    """OpenAPI links from the success answer's `id` to the operations that take it in their
    path, and (body_links) the answer as their body: what the stateful phase of a contract test
    follows (create, then read and change; read, then save back what was read)."""
    targets = {target.endpoint: target for target in OPERATIONS}
    links: dict[str, dict] = {}
    for endpoint, parameter in op.links.items():
        target = targets[endpoint]
        links[endpoint] = {
            "operationId": endpoint,
            "parameters": {parameter: "$response.body#/id"},
            "description": f"{target.summary}: the {parameter} is this answer's id.",
        }
        if endpoint in op.body_links:
            links[endpoint]["requestBody"] = "$response.body"
            links[endpoint]["description"] += " The body is this answer, sent back."
    return links


def _query_parameters(model: type[BaseModel], schema: dict) -> list[dict]:
    parameters = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _headers(described: dict[str, str]) -> dict[str, dict]:
    """Documented response headers are always sent: required, so clients may rely on them."""
    return {
        name: {"description": text, "required": True, "schema": {"type": "string"}}
        for name, text in described.items()
    }


def openapi_document(title: str, version: str) -> dict:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        models += [(model, "serialization") for model in op.responses.values() if model]
    refs, definitions = models_json_schema(
        list(dict.fromkeys(models)),
        ref_template="#/components/schemas/{model}",
        schema_generator=DocumentSchema,
    )
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in op.path_parameters
        ]
        if op.query is not None:
            schema = op.query.model_json_schema(schema_generator=DocumentSchema)
            parameters += _query_parameters(op.query, schema)
        responses: dict[str, dict] = {}
        for status, model in op.responses.items():
            response: dict = {"description": "Success"}
            if model is not None:
                schema = refs[(model, "serialization")]
                response["content"] = {"application/json": {"schema": schema}}
            if status in op.headers:
                response["headers"] = _headers(op.headers[status])
            if status == next(iter(op.responses)) and op.links:
                response["links"] = _links(op)
            responses[str(status)] = response
        error_schema = refs[(ErrorBody, "serialization")]
        for status in _error_statuses(op):
            responses[str(status)] = {
                "description": _error_description(op, status),
                "content": {"application/json": {"schema": error_schema}},
            }
            if status in ERROR_HEADERS:
                responses[str(status)]["headers"] = _headers(ERROR_HEADERS[status])
        entry: dict = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": responses,
        }
        description = op.description
        if op.roles:
            description = f"Roles: {', '.join(op.roles)}. {description}".strip()
        if description:
            entry["description"] = description
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Steward's JSON API. Send `Authorization: Bearer <token>` with a "
            "personal token from your account page; a token acts with its user's roles.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
