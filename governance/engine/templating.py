"""Templates in step configs (notify subject/body, task titles), rendered in a sandbox.

The sandbox refuses access to internals (``__class__``, ``mro``, unsafe callables), and the
data handed in is plain dicts and lists, never ORM objects. Every render is bounded
(template_limits.py), so a template cannot pin a web worker (dry run) or a consumer: loops
and calls are counted, recursive loops refused, values capped, output cut at MAX_RENDERED.

Names are strict: a name the data does not have fails the render (TemplateUndefined) instead
of printing nothing, unless the template gives a fallback (`| default(...)`, `is defined`);
a dry run records such names instead (undefined_names_recorded). Dicts and lists print as
JSON. The output is plain text (emails, task titles, notifications): nothing is HTML-escaped
here; the pages that show it escape it.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from governance.engine import template_limits as limits
from governance.engine.template_limits import TemplateError, TemplateTooExpensive

__all__ = [
    "MAX_RENDERED",
    "TemplateError",
    "TemplateTooExpensive",
    "TemplateUndefined",
    "check_template",
    "parse",
    "render",
    "undefined_names_recorded",
]

MAX_RENDERED = 20_000
MAX_JSON_INDENT = 8
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class TemplateUndefined(TemplateError):
    """A template used a name the data does not have (and gave no `default`)."""


class _RenderState:
    """Per render: the dotted path of every dict and list the template reached (so an error
    can say `steps.hook1.output.status_code`), and, in a dry run, the undefined names seen."""

    def __init__(self, data: Mapping[str, Any], recorded: list[str] | None) -> None:
        # Keyed by id(); the value keeps the object alive so the id is not reused mid-render.
        self.paths: dict[int, tuple[Any, str]] = {}
        self.recorded = recorded
        for name, value in data.items():
            self.name(value, name)

    def name(self, value: Any, path: str) -> None:
        if isinstance(value, dict | list):
            self.paths[id(value)] = (value, path)

    def path_of(self, value: Any) -> str | None:
        known = self.paths.get(id(value))
        return known[1] if known else None


_state: ContextVar[_RenderState | None] = ContextVar("template_render_state", default=None)
_recorder: ContextVar[list[str] | None] = ContextVar("template_undefined_names", default=None)


class StepUndefined(ChainableUndefined):
    """A missing name. `a.b.c` of a missing `a` stays this one undefined (so `default` can
    still catch it); printing it, looping over it, testing or comparing it fails the render,
    or, in a dry run, records its name and acts empty."""

    __slots__ = ()

    @property
    def path(self) -> str:
        state = _state.get()
        parent = state.path_of(self._undefined_obj) if state is not None else None
        return f"{parent}.{self._undefined_name}" if parent else str(self._undefined_name)

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:  # the sandbox's "access to attribute ... is unsafe"
            return self._undefined_hint
        return f"{self.path} is undefined"

    def _refuse(self) -> None:
        state = _state.get()
        if self._undefined_hint or state is None or state.recorded is None:
            self._fail_with_undefined_error()
        if self.path not in state.recorded:
            state.recorded.append(self.path)

    def __str__(self) -> str:
        self._refuse()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._refuse()
        return iter(())

    def __bool__(self) -> bool:
        self._refuse()
        return False

    def __len__(self) -> int:
        self._refuse()
        return 0

    def __contains__(self, item: Any) -> bool:
        self._refuse()
        return False

    def __eq__(self, other: Any) -> bool:
        self._refuse()
        return type(self) is type(other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    __hash__ = ChainableUndefined.__hash__


def _json(value: Any, indent: int | None = None) -> str:
    """JSON text of a value, its size checked before it is built ([s] * 10**5 of a long s is
    a short list with a huge text)."""
    limits.refuse_large_json(value, indent or 0)
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def _as_text(value: Any) -> Any:
    """What `{{ value }}` and `~` write: dicts and lists as JSON, not Python's repr."""
    value = limits.refuse_large(value)
    if isinstance(value, dict | list | tuple):
        return _json(value)
    return value


def tojson(value: Any, indent: int | None = None) -> str:
    """The `tojson` filter: JSON as plain text (Jinja's own escapes <, > and & for HTML)."""
    is_number = isinstance(indent, int) and not isinstance(indent, bool)
    if indent is not None and not (is_number and 0 <= indent <= MAX_JSON_INDENT):
        raise TemplateError(f"tojson: the indent is a number from 0 to {MAX_JSON_INDENT}.")
    return _json(value, indent)


class StepTemplateEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus a cost on every loop iteration and call, and size checks."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def guarded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            limits.spend()
            yield item

    def joined(self, *parts: Any) -> str:
        return limits.joined(*map(_as_text, parts))

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._named(super().getattr(obj, attribute), obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._named(super().getitem(obj, argument), obj, argument)

    @staticmethod
    def _named(value: Any, parent: Any, name: Any) -> Any:
        state = _state.get()
        if state is not None:
            parent_path = state.path_of(parent)
            if parent_path is not None:
                state.name(value, f"{parent_path}.{name}")
        return value

    def call(__self, __context, __obj, *args, **kwargs):  # jinja's own signature
        helper = getattr(__obj, "__func__", None)
        if (
            helper is StepTemplateEnvironment.guarded_iter
            or helper is StepTemplateEnvironment.joined
        ):
            return __obj(*args)  # put there by _Guard, not written by the template
        limits.spend()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and __obj.__name__ in _WIDTH_METHODS:
            limits.refuse_wide(*args, *kwargs.values())
        if isinstance(owner, str) and __obj.__name__ == "replace" and len(args) >= 2:
            limits.checked_replace(owner, args[0], args[1])
        return limits.refuse_large(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any):
        # "{:999999999}".format(1): the sandbox hands out its own str.format; check it first.
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            limits.refuse_wide_format(value.__self__)
        return wrapped

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > limits.MAX_EXPONENT:
                raise TemplateTooExpensive(
                    f"Template too expensive: an exponent above {limits.MAX_EXPONENT}."
                )
            return operator.pow(left, right)
        if operator_name == "*":
            limits.checked_product(left, right)
            return operator.mul(left, right)
        if operator_name == "+":
            limits.checked_sum(left, right)
            return operator.add(left, right)
        limits.refuse_wide_format(left)  # "%999999999s" % x
        return super().call_binop(context, operator_name, left, right)


_HELPERS = (StepTemplateEnvironment.guarded_iter, StepTemplateEnvironment.joined)


class _Guard(NodeTransformer):
    """Rewrites a parsed template: every for loop pulls its items through guarded_iter (which
    charges the budget) and every `~` goes through joined (which checks the size first)."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        node = cast(nodes.For, self.generic_visit(node))  # a For visited is a For
        if node.recursive:
            raise TemplateError(f"line {node.lineno}: recursive loops are not allowed")
        node.iter = self._helper("guarded_iter", [cast(nodes.Expr, node.iter)], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        node = cast(nodes.Concat, self.generic_visit(node))
        return self._helper("joined", node.nodes, node.lineno)

    @staticmethod
    def _helper(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
        return nodes.Call(nodes.EnvironmentAttribute(name), args, [], None, None, lineno=lineno)


# Every value written out ({{ ... }}) is checked too, e.g. one captured by {% set %} blocks.
_environment = StepTemplateEnvironment(autoescape=False, undefined=StepUndefined, finalize=_as_text)
_environment.globals["range"] = limits.bounded_range
# Builds any amount of text without a loop; nothing a step message needs.
_environment.globals.pop("lipsum", None)
_environment.filters["tojson"] = tojson
# Names a template may use beside the data's (policy, trigger, steps, execution).
GLOBAL_NAMES = frozenset(_environment.globals)
_environment.filters = {
    name: limits.bounded_filter(name, function) for name, function in _environment.filters.items()
}


def check_template(source: str) -> None:
    _compiled(source)


def parse(source: str) -> nodes.Template:
    """The template's syntax tree (for checking the names it uses), or TemplateError."""
    try:
        return _environment.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateError(f"line {error.lineno}: {error.message}") from error


@contextmanager
def undefined_names_recorded() -> Iterator[list[str]]:
    """Inside: undefined names render empty and are listed (the dry run), instead of failing
    the render."""
    names: list[str] = []
    token = _recorder.set(names)
    try:
        yield names
    finally:
        _recorder.reset(token)


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling is most of a render's cost, and a workflow's templates never change.

    Compiling also finds what parsing alone does not, such as an unknown filter.
    """
    try:
        return _environment.from_string(_Guard().visit(_environment.parse(source)))
    except TemplateSyntaxError as error:
        raise TemplateError(f"line {error.lineno}: {error.message}") from error


def render(
    source: str, data: Mapping[str, Any], *, seconds: float = limits.TIME_BUDGET_SECONDS
) -> str:
    """The rendered text, at most MAX_RENDERED characters. TemplateError when the sandbox or
    the budget refuses (the consumer does not retry those: the same template fails again)."""
    template = _compiled(source)
    token = limits.current_budget.set(limits.Budget(limits.MAX_OPERATIONS, seconds))
    state_token = _state.set(_RenderState(data, _recorder.get()))
    parts: list[str] = []
    size = 0
    try:
        # A generator (typed as an iterator): closed early when the output is too long.
        chunks = cast(Generator[str, None, None], template.generate(**data))
        try:
            for chunk in chunks:
                parts.append(chunk)
                size += len(chunk)
                if size >= MAX_RENDERED:
                    break
        finally:
            chunks.close()
    except SecurityError as error:
        raise TemplateError(f"not allowed in a template: {error}") from error
    except UndefinedError as error:
        raise TemplateUndefined(
            f"Undefined name in the template: {str(error).removesuffix(' is undefined')} "
            "(give it a fallback with | default('…') if it may be missing)."
        ) from error
    except RecursionError as error:
        raise TemplateTooExpensive("Template too expensive: calls nested too deeply.") from error
    finally:
        _state.reset(state_token)
        limits.current_budget.reset(token)
    return "".join(parts)[:MAX_RENDERED]
