"""What one render of a step template may cost: a budget of loop iterations and calls, a time
budget, and a cap on the size of every value it builds, each checked before the work where
it can be (a width, a repetition, a replacement), so no single operation allocates gigabytes.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

MAX_OPERATIONS = 10_000
TIME_BUDGET_SECONDS = 1.0
# The longest text or list a template may build on the way to its (shorter) output.
MAX_VALUE = 100_000
# The widest a template may pad, indent or wrap text ("x".center(10**9) is one operation).
MAX_WIDTH = 1_000
MAX_EXPONENT = 100
_FORMAT_WIDTHS = re.compile(r"%[-#0 +]*(\*|\d+)|\{[^{}]*:[^{}\d]*(\d+)")


class TemplateError(ValueError):
    """A template that does not parse or tried something the sandbox forbids."""


class TemplateTooExpensive(TemplateError):
    """A template that would take more work than any step template needs."""


class Budget:
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


# Per render, and per thread: the consumer renders in several threads at once.
current_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def spend() -> None:
    budget = current_budget.get()
    if budget is None:
        raise TemplateError("templates render only through templating.render()")
    budget.spend()


def _too_large(size: int) -> TemplateTooExpensive:
    return TemplateTooExpensive(
        f"Template too expensive: a value of {size:,} characters or items (at most {MAX_VALUE:,})."
    )


def refuse_large(value: Any) -> Any:
    """The value, unless it is text or a collection longer than MAX_VALUE."""
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_VALUE:
        raise _too_large(len(value))
    return value


def refuse_large_json(value: Any, indent: int = 0) -> None:
    """Before json.dumps(value): its size, counted without building it and given up on as
    soon as it passes MAX_VALUE ([text] * 10**5 is a short list of one long text)."""
    size = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        size += 2 + depth * indent  # separators, and the line's indent
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                size += len(str(key)) + 2
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        else:
            size += 8
        if size > MAX_VALUE:
            raise _too_large(size)


def refuse_wide(*values: Any) -> None:
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > MAX_WIDTH:
            raise TemplateTooExpensive(
                f"Template too expensive: a width of {value:,} (at most {MAX_WIDTH:,})."
            )


def refuse_wide_format(text: Any) -> None:
    """ "%999999999s" or "{:999999999}": the width is inside the format string."""
    if not isinstance(text, str):
        return
    for star_or_digits in _FORMAT_WIDTHS.findall(text):
        width = next(part for part in star_or_digits if part) if any(star_or_digits) else ""
        if width == "*" or (width and int(width) > MAX_WIDTH):
            raise TemplateTooExpensive(
                f"Template too expensive: a format width above {MAX_WIDTH:,}."
            )


def checked_product(value: Any, times: Any) -> None:
    """Before "x" * n or [x] * n."""
    for sequence, count in ((value, times), (times, value)):
        sized = isinstance(sequence, str | list | tuple) and isinstance(count, int)
        if sized and len(sequence) * count > MAX_VALUE:
            raise _too_large(len(sequence) * count)


def checked_sum(left: Any, right: Any) -> None:
    """Before "a" + "b" or [a] + [b] (doubling a value in a loop grows it fast)."""
    sized = isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple)
    if sized and len(left) + len(right) > MAX_VALUE:
        raise _too_large(len(left) + len(right))


def checked_replace(text: Any, old: Any, new: Any) -> None:
    """Before text.replace(old, new): its exact length, without building it."""
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    hits = text.count(old) if old else len(text) + 1
    size = len(text) + hits * (len(new) - len(old))
    if size > MAX_VALUE:
        raise _too_large(size)


def joined(*parts: Any) -> str:
    """The template's `~` operator, with its result's size checked before it is built."""
    texts = [str(part) for part in parts]
    size = sum(len(text) for text in texts)
    if size > MAX_VALUE:
        raise _too_large(size)
    return "".join(texts)


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_OPERATIONS:
        raise TemplateTooExpensive(
            f"Template too expensive: a range of more than {MAX_OPERATIONS:,} numbers."
        )
    return numbers


def bounded_filter(name: str, function: Callable) -> Callable:
    """A Jinja filter whose widths and sizes are checked first and whose result's size after."""
    # Some filters get the context or environment before the value (pass_context & co).
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def bounded(*args, **kwargs):
        if len(args) > skip:
            passed, value, rest = args[:skip], args[skip], args[skip + 1 :]
            if name in ("center", "indent", "truncate", "wordwrap"):
                refuse_wide(*rest, *kwargs.values())
            elif name == "format":
                refuse_wide_format(value)
            elif name == "replace" and len(rest) >= 2:
                checked_replace(str(value), rest[0], rest[1])
            elif name == "join" and isinstance(value, Iterable) and not isinstance(value, str):
                value = list(value)
                delimiter = str(rest[0] if rest else kwargs.get("d", ""))
                joined(*value, delimiter * max(len(value) - 1, 0))  # its size, checked
            args = (*passed, value, *rest)
        return refuse_large(function(*args, **kwargs))

    return bounded
