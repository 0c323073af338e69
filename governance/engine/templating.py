"""Templates in step configs (notify subject/body, task titles), rendered in a sandbox.

The sandbox refuses access to internals (``__class__``, ``mro``, unsafe callables), and the
data handed in is plain dicts and lists, never ORM objects. Every render is bounded, so a
template cannot pin a web worker (dry run) or a consumer: at most MAX_OPERATIONS loop
iterations and calls, TIME_BUDGET_SECONDS of work, no recursive loops, no operator or
width that builds a huge value at once, and output cut at MAX_RENDERED as it is produced.
"""

from __future__ import annotations

import functools
import operator
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import Template, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_RENDERED = 20_000
MAX_OPERATIONS = 10_000
TIME_BUDGET_SECONDS = 1.0
# The widest a template may pad or wrap text (str.center, |indent, a format width): beyond
# it, one operation ("x".center(10**9)) would build a value far larger than any output.
MAX_WIDTH = 10_000
MAX_EXPONENT = 100
_BIG_FORMAT_WIDTH = re.compile(r"%[^a-zA-Z%]*?(\*|\d{5,})|\{[^}]*:[^}]*\d{5,}")
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = ("center", "indent", "truncate", "wordwrap")


class TemplateError(ValueError):
    """A template that does not parse or tried something the sandbox forbids."""


class TemplateTooExpensive(TemplateError):
    """A template that would take more work than any step template needs."""


class _Budget:
    def __init__(self, operations: int, seconds: float) -> None:
        self.left = operations
        self.limit = operations
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TemplateTooExpensive(
                f"Template too expensive: more than {self.limit:,} loop iterations or calls."
            )
        if time.monotonic() > self.deadline:
            raise TemplateTooExpensive(
                f"Template too expensive: it ran longer than {self.seconds:g} s."
            )


# Per render, and per thread or task: the consumer renders in several threads at once.
_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _spend() -> None:
    budget = _budget.get()
    if budget is None:
        raise TemplateError("templates render only through templating.render()")
    budget.spend()


def _refuse_wide(*values: Any) -> None:
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > MAX_WIDTH:
            raise TemplateTooExpensive(
                f"Template too expensive: a width of {value:,} (at most {MAX_WIDTH:,})."
            )


def _refuse_wide_format(text: Any) -> None:
    if isinstance(text, str) and _BIG_FORMAT_WIDTH.search(text):
        raise TemplateTooExpensive(f"Template too expensive: a format width above {MAX_WIDTH:,}.")


def _width_checked(function):
    @functools.wraps(function)
    def checked(value, *args, **kwargs):
        _refuse_wide(*args, *kwargs.values())
        return function(value, *args, **kwargs)

    return checked


def _format_checked(function):
    @functools.wraps(function)
    def checked(value, *args, **kwargs):
        _refuse_wide_format(value)
        return function(value, *args, **kwargs)

    return checked


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_OPERATIONS:
        raise TemplateTooExpensive(
            f"Template too expensive: a range of more than {MAX_OPERATIONS:,} numbers."
        )
    return numbers


class StepTemplateEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus a cost on every loop iteration and call of the template's own."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def guarded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            _spend()
            yield item

    def call(__self, __context, __obj, *args, **kwargs):  # jinja's own signature
        if getattr(__obj, "__func__", None) is StepTemplateEnvironment.guarded_iter:
            return __obj(*args)  # the loop guard itself, put there by _guard_loops
        _spend()
        if isinstance(getattr(__obj, "__self__", None), str) and __obj.__name__ in _WIDTH_METHODS:
            _refuse_wide(*args, *kwargs.values())
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any):
        # "{:999999999}".format(1): the sandbox hands out its own str.format; check it first.
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _refuse_wide_format(value.__self__)
        return wrapped

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise TemplateTooExpensive(
                    f"Template too expensive: an exponent above {MAX_EXPONENT}."
                )
            return operator.pow(left, right)
        if operator_name == "*":
            for value, times in ((left, right), (right, left)):
                sized = isinstance(value, str | list | tuple) and isinstance(times, int)
                if sized and len(value) * times > MAX_RENDERED:
                    raise TemplateTooExpensive(
                        f"Template too expensive: a value longer than {MAX_RENDERED:,}."
                    )
            return operator.mul(left, right)
        _refuse_wide_format(left)  # "%999999999s" % x
        return super().call_binop(context, operator_name, left, right)


_environment = StepTemplateEnvironment(autoescape=False, undefined=Undefined)
_environment.globals["range"] = _bounded_range
# Builds any amount of text without a loop; nothing a step message needs.
_environment.globals.pop("lipsum", None)
for _name in _WIDTH_FILTERS:
    _environment.filters[_name] = _width_checked(_environment.filters[_name])
_environment.filters["format"] = _format_checked(_environment.filters["format"])


def _guard_loops(tree: nodes.Template) -> nodes.Template:
    """Every for loop pulls its items through guarded_iter, which charges the budget."""
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateError(f"line {loop.lineno}: recursive loops are not allowed")
        loop.iter = nodes.Call(
            nodes.EnvironmentAttribute("guarded_iter"),
            [loop.iter],
            [],
            None,
            None,
            lineno=loop.lineno,
        )
    return tree


def check_template(source: str) -> None:
    _compiled(source)


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling is most of a render's cost, and a workflow's templates never change.

    Compiling also finds what parsing alone does not, such as an unknown filter.
    """
    try:
        return _environment.from_string(_guard_loops(_environment.parse(source)))
    except TemplateSyntaxError as error:
        raise TemplateError(f"line {error.lineno}: {error.message}") from error


def render(source: str, data: Mapping[str, Any], *, seconds: float = TIME_BUDGET_SECONDS) -> str:
    """The rendered text, at most MAX_RENDERED characters. TemplateError when the sandbox or
    the budget refuses (the consumer does not retry those: the same template fails again)."""
    template = _compiled(source)
    token = _budget.set(_Budget(MAX_OPERATIONS, seconds))
    parts: list[str] = []
    size = 0
    try:
        chunks = template.generate(**data)
        try:
            for chunk in chunks:
                parts.append(chunk)
                size += len(chunk)
                if size >= MAX_RENDERED:
                    break
        finally:
            chunks.close()
    except TemplateError:
        raise
    except SecurityError as error:
        raise TemplateError(f"not allowed in a template: {error}") from error
    except RecursionError as error:
        raise TemplateTooExpensive("Template too expensive: calls nested too deeply.") from error
    finally:
        _budget.reset(token)
    return "".join(parts)[:MAX_RENDERED]
