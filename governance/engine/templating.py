"""Templates in step configs (notify subject/body, webhook payloads), rendered in a sandbox.

The sandbox refuses access to internals (``__class__``, ``mro``, unsafe callables), and the
data handed in is plain dicts and lists, never ORM objects.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

_environment = ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined)
MAX_RENDERED = 20_000


class TemplateError(ValueError):
    """A template that does not parse or tried something the sandbox forbids."""


def check_template(source: str) -> None:
    try:
        _environment.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateError(f"line {error.lineno}: {error.message}") from error


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling is most of a render's cost, and a workflow's templates never change."""
    return _environment.from_string(source)


def render(source: str, data: Mapping[str, Any]) -> str:
    try:
        text = _compiled(source).render(**data)
    except TemplateSyntaxError as error:
        raise TemplateError(f"line {error.lineno}: {error.message}") from error
    except SecurityError as error:
        raise TemplateError(f"not allowed in a template: {error}") from error
    return text[:MAX_RENDERED]
