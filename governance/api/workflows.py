"""/api/v1/workflows, for admins as the designer is: list, read, create and save new versions
(through the designer's validator), activate, deactivate, delete, trigger a manual run, and
read or rotate the outbound webhook signing secret."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, assert_never

from flask import Response, current_app, url_for
from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    WrapValidator,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from governance.api.auth import current_api_user
from governance.api.errors import ApiError
from governance.api.paging import keyset_page
from governance.api.schemas import MAX_ID, WHOLE_NUMBER, DocumentSchema, PageQuery, Strict
from governance.api.spec import operation
from governance.api.statuses import WorkflowStatus
from governance.api.text import Text
from governance.auth.models import User
from governance.engine.conditions import FIELD_LABELS, MATCHES, OPERATORS
from governance.engine.definition import (
    BACKOFF_KINDS,
    DEFAULT_RETRY,
    DefinitionError,
    trigger_summary,
    without_secrets,
)
from governance.engine.models import Workflow, WorkflowVersion
from governance.engine.steps import ConfigField, FieldKind, StepType, step_types
from governance.engine.triggers import trigger_types
from governance.policies.lifecycle import STATUSES
from governance.webhooks.signing_secret import SigningSecret
from governance.workflows import service, signing_secret
from governance.workflows.signing_secret import MAX_GRACE_HOURS

TAG = "Workflows"
ADMIN = ("admin",)
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
DESIGNER_RULES = (
    "Also: a rule of the designer the schema cannot say, every one listed in `details` "
    "(a name already taken, an unknown user, group or step key, a template that does not "
    "parse, a cron expression that is not one, a quorum larger than the assignees...)."
)


def _one_of(
    values: Iterable[str] | Callable[[], Iterable[str]],
    description: str,
    default: Any = ...,
    *,
    nullable: bool = False,
) -> Any:
    """A text field whose choices are documented but checked by the designer's validator, so a
    wrong choice is reported together with every other problem of the definition. `values` may
    be a function: the registered trigger types, read when the document is made, since the
    features register them after this module is imported."""

    def document(schema: dict[str, Any]) -> None:
        listed = list(values() if callable(values) else values)
        schema["description"] = f"{description} One of: {', '.join(v or '“”' for v in listed)}."
        schema["enum"] = [*listed, None] if nullable else listed

    return Field(default=default, json_schema_extra=document)


def _registered_trigger(name: str) -> str:
    """A registered trigger type's name, refused as a Literal of them would be."""
    known = list(trigger_types())
    if name in known:
        return name
    quoted = [repr(value) for value in known]
    expected = " or ".join(filter(None, [", ".join(quoted[:-1]), *quoted[-1:]]))
    raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})


def _trigger_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(trigger_types())


# A trigger type's name in a query (a definition's is checked by the designer's validator).
TriggerName = Annotated[
    str, AfterValidator(_registered_trigger), Field(json_schema_extra=_trigger_enum)
]


def _read_only(description: str) -> Any:
    """A field the server sets: in every answer, and accepted back in a PUT, where it is
    ignored (JSON Schema's `readOnly`), so what a GET answers can be sent back unchanged."""
    return Field(
        default=None,
        description=f"{description} Read-only: a PUT may send it back; it is ignored.".strip(),
        json_schema_extra={"readOnly": True},
    )


# ---------------------------------------------------------------- the definition, as sent
# Each answer's definition (DefinitionOut) is accepted back as it was read: the fields a trigger
# type does not use are null there, and null is accepted here as "not used".


class TriggerDefinition(Strict):
    type: Text = _one_of(trigger_types, "What starts the workflow.")
    from_status: Text | None = _one_of(
        ("", *STATUSES),
        "policy.status_changed only: the old status; empty or null for any.",
        "",
        nullable=True,
    )
    to_status: Text | None = _one_of(
        ("", *STATUSES),
        "policy.status_changed only: the new status; empty or null for any.",
        "",
        nullable=True,
    )
    cron: Text | None = Field(
        default="", description="schedule only: five cron fields, in UTC. Null for other triggers."
    )
    summary: str | None = _read_only("In words, as the designer shows it.")


class ConditionIn(Strict):
    field: Text = Field(
        description=f"{', '.join(FIELD_LABELS)}, trigger.<name> or steps.<key>.output.<name>."
    )
    op: Text = _one_of(OPERATORS, "How to compare.")
    value: Text = Field(default="", description="Comma-separated for `in`; unused by `changed`.")


def _condition_kind(value: Any) -> str:
    """An item of a definition's conditions: a group has `conditions`, a plain one does not."""
    items = (
        value.get("conditions") if isinstance(value, dict) else getattr(value, "conditions", None)
    )
    return "group" if items is not None else "condition"


class ConditionGroupIn(Strict):
    """Plain conditions combined by `match`: one level of nesting, a group holds no group."""

    match: Text = _one_of(MATCHES, "How the group's conditions combine.", "all")
    conditions: list[ConditionIn] = Field(
        description="At least one; plain conditions only (a group never holds a group)."
    )

    @field_validator("conditions", mode="before")
    @classmethod
    def _no_nested_groups(cls, items: Any) -> Any:
        if not isinstance(items, list):
            return items  # refused as what it is by the list's own validation
        nested = [
            f"conditions.{i}" for i, item in enumerate(items) if _condition_kind(item) == "group"
        ]
        if nested:
            raise ValueError(
                "A group holds plain conditions only, groups do not nest: "
                f"{', '.join(nested)} of this group {'is' if len(nested) == 1 else 'are'} "
                f"{'a group' if len(nested) == 1 else 'groups'}."
            )
        return items


def _untagged(value: Any, handler: Callable[[Any], Any]) -> Any:
    """An item's errors at the item's own fields (conditions.0.op), without the name of the
    shape it was taken for (conditions.0.condition.op), as before groups existed."""
    try:
        return handler(value)
    except ValidationError as error:
        details: list[Any] = [
            {key: detail[key] for key in ("type", "input", "ctx") if key in detail}
            | {"loc": detail["loc"][1:]}
            for detail in error.errors(include_url=False)
        ]
        raise ValidationError.from_exception_data(error.title, details) from None


def _any_of_items(schema: dict[str, Any]) -> None:
    """The items as `anyOf`, not the `oneOf` a discriminated union documents: the two shapes
    never overlap (each refuses the other's fields), so it says the same, and generators of
    test data (schemathesis) draw from an anyOf without filtering on how many options match."""
    items = schema.get("items", {})
    if "oneOf" in items:
        items["anyOf"] = items.pop("oneOf")


# One of the two by its shape, so a wrong item is told what is wrong with it as what it is.
ConditionItemIn = Annotated[
    Annotated[
        Annotated[ConditionIn, Tag("condition")] | Annotated[ConditionGroupIn, Tag("group")],
        Discriminator(_condition_kind),
    ],
    WrapValidator(_untagged),
]


class RetryIn(Strict):
    attempts: int = Field(default=DEFAULT_RETRY["attempts"], description="1 to 20.")
    backoff: Text = _one_of(BACKOFF_KINDS, "How the delay grows.", DEFAULT_RETRY["backoff"])
    base_seconds: float = Field(default=DEFAULT_RETRY["base_seconds"], description="0 to 3600.")


def _assignee(value: Any) -> str:
    """`owner`, `group` or a user id, as the designer's select sends it (the id as text)."""
    if value in ("owner", "group"):
        return value
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(text, str) and text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID:
        return text
    raise ValueError("Give `owner`, `group` or a user id.")


# One type, not a union: a union reports each of its members' errors, under their names.
Assignee = Annotated[
    str,
    PlainValidator(_assignee),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": ["owner", "group"]},
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            ]
        }
    ),
]


class HeaderIn(Strict):
    """One header a step sends (a HEADERS config field)."""

    name: Text
    value: Text | None = None
    secret: bool = False


# Written out, so a step type's config schema (documented inline in StepIn) needs no $defs.
Headers = Annotated[
    list[HeaderIn],
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "description": "e.g. `Authorization`."},
                    "value": {
                        "type": ["string", "null"],
                        "description": "Of a `secret` header: write-only, never in an answer; "
                        "left out, a save keeps the saved value of the header of the same name.",
                    },
                    "secret": {
                        "type": "boolean",
                        "default": False,
                        "description": "Keep the value hidden once saved.",
                    },
                },
            },
        }
    ),
]


def _config_field(field: ConfigField) -> tuple[Any, Any]:
    """A step type's config input as a typed field: ids are ids, numbers numbers, checkboxes
    booleans, secrets write-only. Left out, a field is not sent on (the step type's own
    default applies; a secret keeps the value the step had)."""
    description = field.label + (f". {field.hint}" if field.hint else "")
    extra: dict[str, Any] = {}
    if field.secret:
        description += (
            " Secret: write-only, never in an answer; left out, a save keeps the saved value."
        )
        extra["writeOnly"] = True
    match field.kind:
        case FieldKind.USERS | FieldKind.GROUPS:
            return list[Id], Field(default=None, max_length=100, description=description)
        case FieldKind.USER | FieldKind.GROUP:
            return Id | None, Field(default=None, description=description)
        case FieldKind.ASSIGNEE:
            description += " `owner`, `group` (with assignee_group_id) or a user id."
            return Assignee, Field(default=None, description=description)
        case FieldKind.CHECKBOX:
            return bool, Field(default=None, description=description)
        case FieldKind.NUMBER:
            return float, Field(default=None, allow_inf_nan=False, description=description)
        case FieldKind.SELECT:
            return Text, _one_of([value for value, _ in field.choices], description, None)
        case FieldKind.URL:
            extra["format"] = "uri"
            return Text, Field(default=None, description=description, json_schema_extra=extra)
        case FieldKind.HEADERS:
            return Headers, Field(default=None, max_length=100, description=description)
        case FieldKind.TEXT | FieldKind.TEXTAREA | FieldKind.APPROVAL_STEP:
            return Text, Field(
                default=None, description=description, json_schema_extra=extra or None
            )
        case _:
            assert_never(field.kind)


_CONFIG_MODELS: dict[type[StepType], type[Strict]] = {}


def _config_model(step_type: StepType) -> type[Strict]:
    """The typed config of a step type, built once per step type class."""
    model = _CONFIG_MODELS.get(type(step_type))
    if model is None:
        name = "".join(part.title() for part in step_type.name.split("_")) + "StepConfig"
        fields: dict[str, Any] = {field.name: _config_field(field) for field in step_type.fields}
        model = create_model(name, __base__=Strict, **fields)
        model.__doc__ = f"The config of a `{step_type.name}` step ({step_type.label})."
        _CONFIG_MODELS[type(step_type)] = model
    return model


def config_model(step_type_name: str) -> type[Strict] | None:
    """The typed config of a registered step type, or None."""
    step_type = step_types().get(step_type_name)
    return _config_model(step_type) if step_type is not None else None


# Derived when the document is built, so a step type registered later is in it too.
def _step_type_schema(schema: dict[str, Any]) -> None:
    schema["description"] = (
        f"The step type; it decides the fields of `config`. One of: {', '.join(step_types())}."
    )
    schema["enum"] = list(step_types())


def _config_schema(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [
        _config_model(step_type).model_json_schema(schema_generator=DocumentSchema)
        for step_type in step_types().values()
    ]


class StepIn(Strict):
    key: Text = Field(
        description="Unique in the workflow: lower-case letters, digits and _, starting with a "
        "letter. Later steps read steps.<key>.output."
    )
    type: Text = Field(json_schema_extra=_step_type_schema)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The fields of the step's type (see each option's title).",
        json_schema_extra=_config_schema,
    )
    when: ConditionIn | None = Field(default=None, description="Run the step only if it holds.")
    retry: RetryIn | None = None

    @field_validator("config")
    @classmethod
    def _config_of_its_type(cls, config: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # An unknown type is the designer validator's to report; its config is not looked at.
        model = config_model(info.data.get("type", ""))
        if model is None:
            return config
        return model.model_validate(config).model_dump(exclude_none=True)


class StageIn(Strict):
    steps: list[StepIn] = Field(description="Run in parallel; the next stage waits for all.")


class DefinitionIn(Strict):
    trigger: TriggerDefinition
    one_step_per_person: bool | None = Field(
        default=None,
        description="One person decides at most one approval step of an execution (whatever "
        "groups they are in). Left out: on for a new workflow, as the latest version has it "
        "for a new version.",
    )
    conditions_match: Text = _one_of(
        MATCHES,
        "How `conditions` combine for the workflow to start: all must hold, or any one.",
        "all",
    )
    conditions: list[ConditionItemIn] = Field(
        default_factory=list,
        description="Plain conditions and groups of them (one level), combined by "
        "`conditions_match`. None: every trigger starts the workflow.",
        json_schema_extra=_any_of_items,
    )
    stages: list[StageIn]


class WorkflowIn(Strict):
    name: Text = Field(max_length=120, description="Unique, ignoring case.")
    description: Text = Field(default="", max_length=1000)
    definition: DefinitionIn


class WorkflowListQuery(PageQuery):
    status: WorkflowStatus | None = None
    trigger_type: TriggerName | None = None


class ActivateQuery(BaseModel):
    version: Id | None = Field(default=None, description="Default: the latest version.")


class TriggerRequest(Strict):
    policy_id: Id | None = Field(
        default=None, description="The policy the run is about (steps acting on one need it)."
    )
    input: dict[str, Any] = Field(
        default_factory=dict,
        description="Trigger data: conditions and templates read it as trigger.<name>.",
    )

    @field_validator("input")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_storable(value)
        return value


def _check_storable(value: Any) -> None:
    """Refuse what a JSON column cannot keep: NaN or infinite numbers, NUL characters."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Numbers must be finite (no NaN or Infinity).")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("The NUL character (\\u0000) cannot be stored; remove it.")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    if isinstance(value, list):
        for item in value:
            _check_storable(item)


# ---------------------------------------------------------------- answers


class TriggerOut(BaseModel):
    type: str
    from_status: str | None = Field(description="Null unless the type is policy.status_changed.")
    to_status: str | None = Field(description="Null unless the type is policy.status_changed.")
    cron: str | None = Field(description="Null unless the type is schedule.")
    summary: str = Field(description="In words, as the designer shows it. Read-only.")


class ConditionOut(BaseModel):
    field: str
    op: str
    value: str


class ConditionGroupOut(BaseModel):
    match: str = Field(description="all or any.")
    conditions: list[ConditionOut]


ConditionItemOut = Annotated[
    Annotated[ConditionOut, Tag("condition")] | Annotated[ConditionGroupOut, Tag("group")],
    Discriminator(_condition_kind),
]


class RetryOut(BaseModel):
    attempts: int
    backoff: str
    base_seconds: float


class StepOut(BaseModel):
    key: str
    type: str
    config: dict[str, Any] = Field(description="As validated and saved; secrets left out.")
    when: ConditionOut | None = None
    retry: RetryOut = RetryOut(**DEFAULT_RETRY)


class StageOut(BaseModel):
    steps: list[StepOut]


class DefinitionOut(BaseModel):
    """A definition as saved, in the shape a PUT (or POST) accepts back."""

    trigger: TriggerOut
    one_step_per_person: bool = Field(
        default=False,
        description="One person decides at most one approval step of an execution. Versions "
        "saved before the setting existed have it off.",
    )
    conditions_match: str = Field(
        default="all",
        description="all or any: how `conditions` combine. Versions saved before groups "
        "existed have all.",
    )
    conditions: list[ConditionItemOut] = Field(json_schema_extra=_any_of_items)
    stages: list[StageOut]


class WorkflowVersionOut(BaseModel):
    number: int
    created_at: datetime
    definition: DefinitionOut


class WorkflowSummary(BaseModel):
    id: int
    name: str
    description: str
    version: int = Field(
        description="The latest version's number. Send it back as `version` when saving: it "
        "tells a PUT which version you edited."
    )
    status: WorkflowStatus
    trigger_type: str
    active_version_number: int | None = Field(description="The version new executions use.")
    next_run_at: datetime | None = Field(description="Scheduled workflows only.")
    inbound_legacy_signature: bool = Field(
        description="Inbound webhook: whether the older X-Steward-Signature is still accepted."
    )
    created_at: datetime
    updated_at: datetime


class WorkflowOut(WorkflowSummary):
    """A workflow with its latest version's definition: a PUT accepts this answer back as it
    is (the fields it cannot change are read-only there, and ignored)."""

    definition: DefinitionOut = Field(description="The latest version's definition.")
    active_version: WorkflowVersionOut | None = Field(
        description="The version new executions use; null while none is active."
    )


class WorkflowList(BaseModel):
    items: list[WorkflowSummary]
    next_cursor: str | None


class SigningSecretOut(BaseModel):
    """The secret outbound webhook deliveries are signed with (Standard Webhooks)."""

    secret: str = Field(description="Usually `whsec_` + base64 key bytes; give it to receivers.")
    previous_secret: str | None = Field(
        description="During a rotation's grace period, the secret before: deliveries carry a "
        "signature for each. Null otherwise."
    )
    previous_expires_at: datetime | None = Field(
        description="When `previous_secret` stops signing; null outside a grace period."
    )


class RotateSecretIn(Strict):
    grace_hours: Annotated[int, Field(ge=0, le=MAX_GRACE_HOURS), WHOLE_NUMBER] | None = Field(
        default=None,
        description="How long the previous secret keeps signing: 0 stops it at once (for a "
        "secret that leaked). Null or left out: the server's WEBHOOK_SECRET_GRACE_HOURS.",
    )


def accepts_read_only_fields_of(answer: type[BaseModel]) -> Callable[[type], type]:
    """The body model also accepting (and ignoring) every other field of `answer`, so that an
    answer is a valid body as it stands. Derived: a field added to the answer is accepted too."""

    def decorate(model: type[BaseModel]) -> type[BaseModel]:
        fields: dict[str, Any] = {
            name: (Any, _read_only(field.description or ""))
            for name, field in answer.model_fields.items()
            if name not in model.model_fields
        }
        return create_model(model.__name__, __base__=model, __doc__=model.__doc__, **fields)

    return decorate


@accepts_read_only_fields_of(WorkflowOut)
class WorkflowUpdate(WorkflowIn):
    """The workflow as GET answers it, with your changes: saved as a new version."""

    version: Id = Field(
        description="`version` as you read it: if someone saved a newer version meanwhile, "
        "409 and nothing is saved."
    )


class TriggerAccepted(BaseModel):
    execution_id: int = Field(description="Follow it at /api/v1/executions/{execution_id}.")


def _summary_fields(workflow: Workflow) -> dict[str, Any]:
    active = workflow.active_version
    return {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "status": workflow.status,
        "trigger_type": workflow.trigger_type,
        "active_version_number": active.number if active else None,
        "version": workflow.latest_version,
        "next_run_at": workflow.next_run_at,
        "inbound_legacy_signature": workflow.webhook_legacy_signature,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
    }


def _definition_out(definition: dict[str, Any]) -> DefinitionOut:
    stages = without_secrets(definition)["stages"]
    unused = {"from_status": None, "to_status": None, "cron": None}
    trigger = unused | definition["trigger"] | {"summary": trigger_summary(definition["trigger"])}
    return DefinitionOut.model_validate(
        {
            "trigger": trigger,
            "one_step_per_person": bool(definition.get("one_step_per_person")),
            "conditions_match": definition.get("conditions_match", "all"),
            "conditions": definition["conditions"],
            "stages": stages,
        }
    )


def _version_out(version: WorkflowVersion) -> WorkflowVersionOut:
    return WorkflowVersionOut(
        number=version.number,
        created_at=version.created_at,
        definition=_definition_out(version.definition),
    )


def _workflow_out(workflow: Workflow) -> WorkflowOut:
    active = workflow.active_version
    return WorkflowOut(
        **_summary_fields(workflow),
        definition=_definition_out(service.latest_version(workflow).definition),
        active_version=_version_out(active) if active else None,
    )


# ---------------------------------------------------------------- definition errors

_CONFIG_PATH = re.compile(r"^stages\.(\d+)\.steps\.(\d+)\.config\.(\w+)$")
_STEP_TYPE_PATH = re.compile(r"^stages\.\d+\.steps\.\d+\.type$")


def _allowed(path: str, definition: DefinitionIn) -> list[str] | None:
    """The values that would have been accepted at `path`, where they are a short list."""
    if path == "trigger.type":
        return list(trigger_types())
    if path in ("trigger.from_status", "trigger.to_status"):
        return list(STATUSES)
    if path.endswith(".op"):
        return list(OPERATORS)
    if path == "conditions_match" or path.endswith(".match"):
        return list(MATCHES)
    if path.endswith(".backoff"):
        return list(BACKOFF_KINDS)
    if _STEP_TYPE_PATH.match(path):
        return list(step_types())
    if match := _CONFIG_PATH.match(path):
        stage, position, name = int(match[1]), int(match[2]), match[3]
        step_type = step_types().get(definition.stages[stage].steps[position].type)
        for field in step_type.fields if step_type else ():
            if field.name == name and field.kind == FieldKind.SELECT:
                return [value for value, _ in field.choices]
    return None


def _definition_error(error: DefinitionError, definition: DefinitionIn) -> ApiError:
    """The designer's problems, each at its field in this body (definition.stages.0...)."""
    details = []
    for path, message in error.errors.items():
        detail: dict[str, Any] = {
            "field": path if path == "name" else f"definition.{path}",
            "message": message,
        }
        if (allowed := _allowed(path, definition)) is not None:
            detail["allowed"] = allowed
        details.append(detail)
    return ApiError(422, error.message, details=details)


def _save(
    workflow_id: int | None, body: WorkflowIn, actor: User, expected_version: int | None = None
) -> int:
    definition = body.definition.model_dump(exclude_none=True, exclude={"trigger": {"summary"}})
    if body.definition.one_step_per_person is None:
        definition["one_step_per_person"] = workflow_id is None or bool(
            service.latest_version(service.get_workflow(workflow_id)).definition.get(
                "one_step_per_person"
            )
        )
    try:
        return service.save_workflow(
            workflow_id,
            name=body.name,
            description=body.description,
            definition=definition,
            actor=actor,
            expected_version=expected_version,
        )
    except DefinitionError as error:
        raise _definition_error(error, body.definition) from error


# ---------------------------------------------------------------- operations


@operation(
    "/workflows",
    summary="List workflows",
    tag=TAG,
    query=WorkflowListQuery,
    roles=ADMIN,
    responses={200: WorkflowList},
    description="Newest first.",
)
def list_workflows(query: WorkflowListQuery):
    statement = service.workflow_list_statement(
        status=query.status, trigger_type=query.trigger_type
    )
    workflows, next_cursor = keyset_page(statement, Workflow.id, query)
    return WorkflowList(
        items=[WorkflowSummary(**_summary_fields(w)) for w in workflows], next_cursor=next_cursor
    )


@operation(
    "/workflows/<int:workflow_id>",
    summary="Get a workflow with its latest definition and its active version",
    tag=TAG,
    roles=ADMIN,
    responses={200: WorkflowOut},
    links={"update_workflow": "workflow_id"},
    body_links=("update_workflow",),
    description="`version` and `definition` are the latest version's. To edit the workflow, "
    "change this answer and PUT it back as it is: the read-only fields are ignored there.",
)
def get_workflow(workflow_id: int):
    return _workflow_out(service.get_workflow(workflow_id))


@operation(
    "/workflows",
    "POST",
    summary="Create a workflow (its version 1, a draft)",
    tag=TAG,
    body=WorkflowIn,
    roles=ADMIN,
    responses={201: WorkflowOut},
    refusals={422: DESIGNER_RULES},
    headers={201: {"Location": "The new workflow's URL."}},
    links={
        "get_workflow": "workflow_id",
        "update_workflow": "workflow_id",
        "activate_workflow": "workflow_id",
        "deactivate_workflow": "workflow_id",
        "delete_workflow": "workflow_id",
    },
    description="Checked as the designer checks it; a 422 lists every problem at once.",
)
def create_workflow(body: WorkflowIn):
    workflow_id = _save(None, body, current_api_user())
    location = url_for("api.get_workflow", workflow_id=workflow_id)
    return _workflow_out(service.get_workflow(workflow_id)), 201, {"Location": location}


@operation(
    "/workflows/<int:workflow_id>",
    "PUT",
    summary="Save a new version of a workflow",
    tag=TAG,
    body=WorkflowUpdate,
    roles=ADMIN,
    responses={200: WorkflowOut},
    refusals={
        409: "`version` is stale: someone saved a newer version after you read it.",
        422: DESIGNER_RULES,
    },
    description="Send what GET answers, with your changes: `name`, `description`, `definition` "
    "and the `version` you read (a stale one is 409); the other fields are read-only and "
    "ignored, and fields a trigger type does not use may be null. Every save is a new version, "
    "even of an unchanged definition (a retried PUT is 409: its `version` is stale by then). "
    "Running executions keep the version they started with; activate the new one for new "
    "executions to use it.",
)
def update_workflow(workflow_id: int, body: WorkflowUpdate):
    _save(workflow_id, body, current_api_user(), expected_version=body.version)
    return _workflow_out(service.get_workflow(workflow_id))


@operation(
    "/workflows/<int:workflow_id>/activate",
    "POST",
    summary="Activate a version of a workflow",
    tag=TAG,
    query=ActivateQuery,
    roles=ADMIN,
    responses={200: WorkflowOut},
    refusals={404: "Or the workflow has no such `version`."},
    description="New executions use that version (default: the latest).",
)
def activate_workflow(workflow_id: int, query: ActivateQuery):
    user = current_api_user()
    service.activate(workflow_id, actor=user, version_number=query.version)
    return _workflow_out(service.get_workflow(workflow_id))


@operation(
    "/workflows/<int:workflow_id>/deactivate",
    "POST",
    summary="Deactivate a workflow",
    tag=TAG,
    roles=ADMIN,
    responses={200: WorkflowOut},
    refusals={422: "Also: the workflow is not active."},
    description="No new executions start; running ones finish.",
)
def deactivate_workflow(workflow_id: int):
    user = current_api_user()
    service.deactivate(workflow_id, actor=user)
    return _workflow_out(service.get_workflow(workflow_id))


@operation(
    "/workflows/<int:workflow_id>",
    "DELETE",
    summary="Delete a workflow",
    tag=TAG,
    roles=ADMIN,
    responses={204: None},
    refusals={409: "An execution of the workflow is unfinished."},
    description="With its versions and finished executions. The audit log keeps the record.",
)
def delete_workflow(workflow_id: int):
    user = current_api_user()
    service.delete_workflow(workflow_id, actor=user)
    return Response(status=204)


@operation(
    "/workflows/<int:workflow_id>/trigger",
    "POST",
    summary="Run a workflow now",
    tag=TAG,
    body=TriggerRequest,
    roles=ADMIN,
    responses={202: TriggerAccepted},
    refusals={
        422: "Also: the workflow is not active, or its trigger is not manual; `policy_id` "
        "names no policy; `input` has a `started_by` (Steward sets it)."
    },
    headers={202: {"Location": "The execution's URL, to follow it."}},
    description="As the Run button: an active workflow with the manual trigger. Its steps run "
    "in the background; follow the execution at Location.",
)
def trigger_workflow(workflow_id: int, body: TriggerRequest):
    user = current_api_user()
    execution_id = service.run_manually(
        workflow_id, policy_id=body.policy_id, actor=user, input_data=body.input
    )
    # A plain path: /executions is another area's, and this one need not import it.
    location = f"/api/v1/executions/{execution_id}"
    return TriggerAccepted(execution_id=execution_id), 202, {"Location": location}


def _secret_out(secret: SigningSecret) -> SigningSecretOut:
    return SigningSecretOut(
        secret=secret.secret,
        previous_secret=secret.previous_secret,
        previous_expires_at=secret.previous_expires_at,
    )


@operation(
    "/workflows/<int:workflow_id>/signing-secret",
    summary="Read the outbound webhook signing secret",
    tag=TAG,
    roles=ADMIN,
    responses={200: SigningSecretOut},
    description="Each read is recorded in the audit trail. Receivers verify deliveries with it "
    "(e.g. `standardwebhooks.Webhook(secret).verify(body, headers)`).",
)
def get_signing_secret(workflow_id: int):
    user = current_api_user()
    return _secret_out(signing_secret.read_signing_secret(workflow_id, actor=user, via="API"))


@operation(
    "/workflows/<int:workflow_id>/signing-secret/rotate",
    "POST",
    summary="Rotate the outbound webhook signing secret",
    tag=TAG,
    body=RotateSecretIn,
    body_required=False,
    roles=ADMIN,
    responses={200: SigningSecretOut},
    description="A new secret signs from now on; the one it replaces also signs for "
    "`grace_hours`, so receivers can switch without refusing a delivery. Audited.",
)
def rotate_signing_secret(workflow_id: int, body: RotateSecretIn):
    user = current_api_user()
    hours = body.grace_hours
    if hours is None:
        hours = current_app.config["WEBHOOK_SECRET_GRACE_HOURS"]
    return _secret_out(
        signing_secret.rotate_signing_secret(workflow_id, actor=user, grace_hours=hours)
    )
