"""The names a step's templates can see, and the check a save runs against them.

No database: the data a step renders with is built by run.build_data; this module reads its
shape per trigger from the registered trigger types and context providers, so a typo is
refused when the workflow is saved rather than failing the step when it runs.
"""

from __future__ import annotations

from collections.abc import Collection

from jinja2 import meta, nodes

from governance.engine import context, templating, triggers

EXECUTION_FIELDS = ("id", "workflow")
STEP_FIELDS = ("output", "status")
# What every step's data has besides what the context providers give (engine/context.py).
ENGINE_NAMES = frozenset({"trigger", "steps", "execution"})


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
    trigger_fields = trigger_fields_of(trigger_type)
    kind = triggers.get_trigger(trigger_type or "")
    without_subject = kind.without_subject if kind else None
    subject_fields = {name: provider.fields for name, provider in context.providers().items()}
    problems: dict[str, str] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        # find_all's annotation joins the tuple's types into Expr; these are the two it finds.
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
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
        if root in subject_fields and without_subject is not None:
            problems.setdefault(path, f"{path} ({without_subject} has no {root})")
        elif root in subject_fields and key not in subject_fields[root]:
            problems.setdefault(path, f"{path} (a {root} has no field {key})")
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
    data_names = ENGINE_NAMES | set(subject_fields)
    for name in sorted(from_data - data_names - templating.GLOBAL_NAMES):
        problems.setdefault(name, name)
    return list(problems.values())


def trigger_fields_of(
    trigger_type: str | None, unknown: tuple[str, ...] | None = None
) -> tuple[str, ...] | None:
    """The names a trigger's data has (None: any name, the caller chooses them); `unknown`
    for a type no feature registered."""
    kind = triggers.get_trigger(trigger_type or "")
    return kind.data_fields if kind else unknown


def names_for(trigger_type: str | None) -> dict[str, tuple[str, ...] | None]:
    """What the designer's help lists for a trigger: {"policy": fields (each context
    provider's), "trigger": fields or None (any name), "execution": fields}."""
    kind = triggers.get_trigger(trigger_type or "")
    has_subject = kind is None or kind.has_subject
    subjects = {
        name: provider.fields if has_subject else ()
        for name, provider in context.providers().items()
    }
    trigger = trigger_fields_of(trigger_type, unknown=())
    return subjects | {"trigger": trigger, "execution": EXECUTION_FIELDS}


def variables_for(trigger_type: str | None, earlier_steps: Collection[str]) -> list[str]:
    """Every name a step can insert in a template, in the designer's order: the subject's
    fields, the trigger's (none listed when the trigger takes any name), each earlier step's
    output and status, the execution's."""
    names = names_for(trigger_type)
    listed = [
        f"{root}.{field}"
        for root, fields in names.items()
        if root != "execution"
        for field in fields or ()
    ]
    listed += [f"steps.{key}.{field}" for key in earlier_steps if key for field in STEP_FIELDS]
    return listed + [f"execution.{field}" for field in EXECUTION_FIELDS]
