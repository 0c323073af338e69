"""Trigger types: what may start a workflow, each with all it knows about itself.

The engine builds in two (manual, schedule); every other comes from a feature's register(app)
(policy.* from policies, policy.review_due from reviews, exception.requested from exceptions,
the inbound webhook from webhooks). The feature also decides when its trigger fires: it calls
start.start_matching() in the transaction of the change, with the trigger's data. Adding a
trigger is one register_trigger() call in its feature; the engine keeps no list of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

Settings = Mapping[str, Any]


def _no_settings(raw: Settings, errors: dict[str, str]) -> dict[str, Any]:
    return {}


def _always(trigger: Settings, data: Settings) -> bool:
    return True


@dataclass(frozen=True)
class TriggerType:
    name: str  # what a definition's trigger "type", and an execution's trigger_type, hold
    label: str  # the designer's name for it
    # Where the designer lists it (ascending), whatever order the features register in. Those
    # registered today are ten apart: a new one fits between two without renumbering.
    position: int = field(kw_only=True)
    # The names of the data it gives a step (trigger.<name> in templates and conditions); None
    # when the caller chooses them (a manual run's input, a webhook's JSON body).
    data_fields: tuple[str, ...] | None = ()
    # Why its executions have no subject, for the designer ("a scheduled run"); None: they
    # may have one (a policy), so a step may read what the context providers give about it.
    without_subject: str | None = None
    # The designer's settings for it, validated: (what was sent, errors to fill, keyed
    # "trigger.<setting>") -> the settings to store beside "type".
    clean: Callable[[Settings, dict[str, str]], dict[str, Any]] = _no_settings
    # Whether a workflow whose trigger has these settings starts for this trigger data.
    matches: Callable[[Settings, Settings], bool] = _always
    # A workflow's trigger in a line ("Policy status changed: draft → in review").
    describe: Callable[[Settings], str] | None = None

    @property
    def has_subject(self) -> bool:
        return self.without_subject is None

    def summary(self, trigger: Settings) -> str:
        return self.describe(trigger) if self.describe else self.label


# Filled by register(app) calls at start-up; registering a name again replaces it, so a second
# app (or a test) changes nothing.
_registry: dict[str, TriggerType] = {}


def register_trigger(trigger_type: TriggerType) -> TriggerType:
    _registry[trigger_type.name] = trigger_type
    return trigger_type


def unregister_trigger(name: str) -> None:
    _registry.pop(name, None)


def get_trigger(name: str) -> TriggerType | None:
    return _registry.get(name)


def trigger_types() -> Mapping[str, TriggerType]:
    """Every registered trigger type by name, in the designer's order (by position)."""
    ordered = sorted(_registry.values(), key=lambda kind: (kind.position, kind.name))
    return MappingProxyType({kind.name: kind for kind in ordered})
