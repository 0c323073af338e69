"""The names a step's templates can see, and the check a save runs against them.

Pure (no database): the data a step renders with is built by run.build_data; this module
lists its shape per trigger, so a typo is refused when the workflow is saved rather than
failing the step when it runs.
"""

from __future__ import annotations

from collections.abc import Collection

from jinja2 import meta, nodes

from governance.engine import templating

# start.policy_snapshot's keys (a test holds the two together).
POLICY_FIELDS = (
    "id",
    "title",
    "status",
    "category",
    "tags",
    "owner",
    "owner_id",
    "owner_name",
    "revision",
    "next_review_on",
)
EXECUTION_FIELDS = ("id", "workflow")
STEP_FIELDS = ("output", "status")
_POLICY_EVENT = ("policy_id", "actor_id", "revision", "status")
# Each trigger's data (trigger.<name>); None: any name, the caller chooses it (a manual run's
# input, an inbound webhook's JSON body).
TRIGGER_FIELDS: dict[str, tuple[str, ...] | None] = {
    "policy.created": _POLICY_EVENT,
    "policy.updated": (*_POLICY_EVENT, "changed"),
    "policy.status_changed": (*_POLICY_EVENT, "old_status", "new_status", "reason"),
    "policy.review_due": ("policy_id", "due_on", "actor_id"),
    "exception.requested": ("policy_id", "exception_id", "actor_id", "scope", "expires_on"),
    "schedule": ("scheduled_for", "cron"),
    "manual": None,
    "webhook": None,
}
# A scheduled run has no policy; the others may (manual, webhook) or always do.
TRIGGERS_WITHOUT_POLICY = frozenset({"schedule"})
DATA_NAMES = frozenset({"policy", "trigger", "steps", "execution"})


def _first_key(node: nodes.Getattr | nodes.Getitem) -> str | None:
    """`x.key` or `x["key"]`; None for a computed subscript (`x[name]`), which is not checked."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _root(node: nodes.Getattr | nodes.Getitem) -> str | None:
    inner = node.node
    return inner.name if isinstance(inner, nodes.Name) and inner.ctx == "load" else None


def unknown_names(
    source: str,
    *,
    trigger_type: str | None,
    earlier_steps: Collection[str],
    same_stage_steps: Collection[str] = (),
) -> list[str]:
    """Each name the template uses that the step will not have, with why, in order of first
    use. `earlier_steps`: keys of steps in earlier stages (the only ones a step can read).
    TemplateError if the template does not parse."""
    tree = templating.parse(source)
    from_data = meta.find_undeclared_variables(tree)
    trigger_fields = TRIGGER_FIELDS.get(trigger_type or "")
    problems: dict[str, str] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = _first_key(node)
        inner = node.node
        if key is None:
            continue
        if isinstance(inner, nodes.Getattr | nodes.Getitem):
            # steps.<key>.<field>: a step's entry has output and status.
            step_key = _first_key(inner)
            if _root(inner) == "steps" and "steps" in from_data and key not in STEP_FIELDS:
                path = f"steps.{step_key}.{key}"
                problems.setdefault(path, f"{path} (a step has {' and '.join(STEP_FIELDS)})")
            continue
        root = _root(node)
        if root not in from_data:  # not a name from the data ({% set %}, a loop variable)
            continue
        path = f"{root}.{key}"
        if root == "policy" and trigger_type in TRIGGERS_WITHOUT_POLICY:
            problems.setdefault(path, f"{path} (a scheduled run has no policy)")
        elif root == "policy" and key not in POLICY_FIELDS:
            problems.setdefault(path, f"{path} (a policy has no field {key})")
        elif root == "trigger" and trigger_fields is not None and key not in trigger_fields:
            problems.setdefault(
                path, f"{path} (this trigger gives {', '.join(sorted(trigger_fields))})"
            )
        elif root == "execution" and key not in EXECUTION_FIELDS:
            problems.setdefault(path, f"{path} (an execution has id and workflow)")
        elif root == "steps" and key in same_stage_steps:
            problems.setdefault(
                path,
                f"{path} ({key} is in the same stage: steps of a stage run in parallel and "
                "cannot read each other)",
            )
        elif root == "steps" and key not in earlier_steps:
            problems.setdefault(path, f"{path} (no step {key} in an earlier stage)")
    for name in sorted(from_data - DATA_NAMES - templating.GLOBAL_NAMES):
        problems.setdefault(name, name)
    return list(problems.values())


def names_for(trigger_type: str | None) -> dict[str, tuple[str, ...] | None]:
    """What the designer's help lists for a trigger: {"policy": fields, "trigger": fields or
    None (any name), "execution": fields}."""
    return {
        "policy": () if trigger_type in TRIGGERS_WITHOUT_POLICY else POLICY_FIELDS,
        "trigger": TRIGGER_FIELDS.get(trigger_type or "", ()),
        "execution": EXECUTION_FIELDS,
    }
