"""The step-type plugin interface: what a step type declares (its config fields, validation,
run and description), what it sees when it runs, what it answers, and the registry features
fill from their register(app). The engine, the designer, the API schema and the timeline read
everything they need to know about a step type from here, so a new type is one module."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

ConfigErrors = dict[str, str]


class FieldKind(StrEnum):
    """What a config field holds, which decides its input in the designer and its type in the
    API schema. A closed set: a step type picks one of these, it does not add its own."""

    TEXT = "text"
    TEXTAREA = "textarea"
    URL = "url"
    NUMBER = "number"
    CHECKBOX = "checkbox"
    SELECT = "select"  # one of the field's choices
    USERS = "users"  # several user ids
    GROUPS = "groups"  # several group ids
    USER = "user"  # one user id
    GROUP = "group"  # one group id
    ASSIGNEE = "assignee"  # "owner", "group" or a user id
    APPROVAL_STEP = "approval_step"  # the key of another approval step of the workflow
    # Rows of {"name", "value", "secret"} (HTTP headers): each row's value may be secret, and
    # a secret row is treated as a secret field is (see ConfigField).
    HEADERS = "headers"


MULTI_VALUE_KINDS = frozenset({FieldKind.USERS, FieldKind.GROUPS})
# The kinds a secret can be: what a person types (a token, a password, a URL with a key in it).
SECRET_KINDS = frozenset({FieldKind.TEXT, FieldKind.TEXTAREA, FieldKind.URL})


@dataclass(frozen=True)
class ConfigField:
    """One input of a step type's config form. Everything that shows, documents or keeps a
    config reads it from here: the designer, the API schema, the timeline and a save.

    secret: saved with the definition and used when the step runs, but never shown again (the
    designer's input stays empty, the API leaves it out of answers and documents it
    write-only, the timeline hides its value wherever it appears), and a save that leaves it
    empty keeps the value the step had. A HEADERS field marks secrecy per row instead: the
    value of a row with "secret" set is kept the same way (a save that leaves it empty keeps
    the saved value of the row of the same name).
    """

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    default: str = ""  # what a new step of this type starts with
    # A Jinja template: a save checks the names it uses (engine/template_names.py).
    template: bool = False
    secret: bool = False

    def __post_init__(self) -> None:
        # A closed set: an unknown kind fails when the step type is defined, not when rendered.
        object.__setattr__(self, "kind", FieldKind(self.kind))
        if self.secret and self.kind not in SECRET_KINDS:
            raise ValueError(f"{self.name}: a {self.kind} field cannot be secret.")

    @property
    def multi_value(self) -> bool:
        return self.kind in MULTI_VALUE_KINDS


@dataclass
class StepContext:
    """What a step sees when it runs: plain values plus the ids it may act on."""

    step_run_id: int
    execution_id: int
    step_key: str
    attempt: int
    config: dict[str, Any]
    policy_id: int | None
    actor_id: int | None
    # {"policy": {...}, "trigger": {...}, "steps": {key: {"output": {...}}}, "execution": {...}}
    data: dict[str, Any]
    previous_output: dict[str, Any] = field(default_factory=dict)
    # False for a dry run: describe what would happen, change nothing.
    live: bool = True


@dataclass
class Outcome:
    status: str  # "succeeded", "waiting", "retry" or "failed"
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    resume_at: datetime | None = None  # waiting until (wait steps)
    retry_after: float | None = None  # seconds, when the other side said so (Retry-After)
    # Rows recording what the step did outside Steward (a webhook delivery): that happened
    # whatever the outcome, so the engine adds them in the transaction that records the outcome,
    # a retry or a failure included (which roll back the step's other writes); a consumer that
    # lost the step records neither.
    records: list[object] = field(default_factory=list)

    @classmethod
    def succeeded(cls, **output: Any) -> Outcome:
        return cls("succeeded", output=output)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        """A permanent failure: no retry (e.g. a 404 from a webhook receiver)."""
        return cls("failed", error=error)


class StepType:
    """A step type. Subclasses set `name` and `label` and implement validate() and run()."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Automated steps finish in one run and are bound by the step timeout; approval and
    # wait steps park the execution instead.
    automated: ClassVar[bool] = True
    fields: ClassVar[tuple[ConfigField, ...]] = ()

    def validate(self, config: dict[str, Any]) -> tuple[dict[str, Any], ConfigErrors]:
        """Return the cleaned config and {config field: message} for what is wrong."""
        raise NotImplementedError

    def run(self, context: StepContext) -> Outcome:
        raise NotImplementedError

    def describe(self, config: dict[str, Any]) -> str:
        """One line for the workflow page and the timeline; never quote a secret field."""
        return self.label

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        return frozenset(field.name for field in cls.fields if field.secret)

    @classmethod
    def header_fields(cls) -> frozenset[str]:
        """The HEADERS fields, whose rows carry their own secrecy."""
        return frozenset(field.name for field in cls.fields if field.kind == FieldKind.HEADERS)


_REGISTRY: dict[str, StepType] = {}


def register_step_type(cls: type[StepType]) -> type[StepType]:
    """Make `cls` available under its name. Registering the same class again does nothing
    (every create_app registers its features); another class under a taken name is an error."""
    registered = _REGISTRY.get(cls.name)
    if registered is not None:
        if type(registered) is not cls:
            raise ValueError(f"A step type named {cls.name!r} is already registered.")
        return cls
    _REGISTRY[cls.name] = cls()
    return cls


def unregister_step_type(name: str) -> None:
    """Forget a step type (tests that register their own)."""
    _REGISTRY.pop(name, None)


def get_step_type(name: str) -> StepType:
    """The registered step type called `name`; KeyError when there is none."""
    return _REGISTRY[name]


def step_types() -> Mapping[str, StepType]:
    """Every registered step type by name, in name order (as the designer lists them)."""
    return MappingProxyType(dict(sorted(_REGISTRY.items())))
