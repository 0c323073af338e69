"""The step-type registry. Each module in this package registers one step type with
@register; adding a type means adding one module here (they are imported automatically)."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

ConfigErrors = dict[str, str]


@dataclass(frozen=True)
class ConfigField:
    """One input of a step type's config form, as the designer renders it.

    kind: text, textarea, number, select (choices), users, groups (several), user, group
    (one), checkbox, secret (never shown again once saved), approval_step (the key of another
    approval step of the workflow).
    """

    name: str
    label: str
    kind: str = "text"
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    default: str = ""  # what a new step of this type starts with
    # A Jinja template: a save checks the names it uses (engine/template_names.py).
    template: bool = False


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

    @classmethod
    def succeeded(cls, **output: Any) -> Outcome:
        return cls("succeeded", output=output)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        """A permanent failure: no retry (e.g. a 404 from a webhook receiver)."""
        return cls("failed", error=error)


class Action:
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
        return self.label


ACTIONS: dict[str, Action] = {}


def register(cls: type[Action]) -> type[Action]:
    ACTIONS[cls.name] = cls()
    return cls


def get_action(name: str) -> Action:
    load_all()
    return ACTIONS[name]


@functools.cache
def load_all() -> dict[str, Action]:
    """Import every module of this package once, so each registers its step type.

    Cached: listing the package directory on every step cost more than some steps do.
    """
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return ACTIONS
