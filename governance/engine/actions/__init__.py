"""The built-in step types, until each moves into its feature; the interface and the registry
are governance/engine/steps.py (re-exported here while imports follow)."""

from __future__ import annotations

from governance.engine.steps import (  # noqa: F401
    ConfigErrors,
    ConfigField,
    Outcome,
    StepContext,
    StepType,
    get_action,
    get_step_type,
    register_step_type,
    step_types,
)
