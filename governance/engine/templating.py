"""Templates in step configs (notify subject/body, task titles), rendered in a sandbox.

The sandbox refuses access to internals (``__class__``, ``mro``, unsafe callables), and the
data handed in is plain dicts and lists, never ORM objects. Every render is bounded
(template_limits.py), so a template cannot pin a web worker (dry run) or a consumer: loops
and calls are counted, recursive loops refused, values capped, output cut at MAX_RENDERED.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from governance.engine import template_limits as limits
from governance.engine.template_limits import TemplateError, TemplateTooExpensive

__all__ = ["MAX_RENDERED", "TemplateError", "TemplateTooExpensive", "check_template", "render"]

MAX_RENDERED = 20_000
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class StepTemplateEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus a cost on every loop iteration and call, and size checks."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def guarded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            limits.spend()
            yield item

    def joined(self, *parts: Any) -> str:
        return limits.joined(*parts)

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
        node = self.generic_visit(node)
        if node.recursive:
            raise TemplateError(f"line {node.lineno}: recursive loops are not allowed")
        node.iter = self._helper("guarded_iter", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        node = self.generic_visit(node)
        return self._helper("joined", node.nodes, node.lineno)

    @staticmethod
    def _helper(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
        return nodes.Call(nodes.EnvironmentAttribute(name), args, [], None, None, lineno=lineno)


# Every value written out ({{ ... }}) is checked too, e.g. one captured by {% set %} blocks.
_environment = StepTemplateEnvironment(
    autoescape=False, undefined=Undefined, finalize=limits.refuse_large
)
_environment.globals["range"] = limits.bounded_range
# Builds any amount of text without a loop; nothing a step message needs.
_environment.globals.pop("lipsum", None)
_environment.filters = {
    name: limits.bounded_filter(name, function) for name, function in _environment.filters.items()
}


def check_template(source: str) -> None:
    _compiled(source)


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
    except SecurityError as error:
        raise TemplateError(f"not allowed in a template: {error}") from error
    except RecursionError as error:
        raise TemplateTooExpensive("Template too expensive: calls nested too deeply.") from error
    finally:
        limits.current_budget.reset(token)
    return "".join(parts)[:MAX_RENDERED]
