"""What the features above policies show on a policy's page (executions: its latest runs).

Each registers, in its register(app), a name for the page's template and how to compute it for
a policy and the user reading it; policies' views cannot import those features.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from governance.auth.models import User
from governance.policies.models import Policy

PagePart = Callable[[Policy, User], Any]

_parts: dict[str, PagePart] = {}


def register_page_part(name: str, part: PagePart) -> None:
    _parts[name] = part


def page_parts(policy: Policy, user: User) -> dict[str, Any]:
    """Every registered part for this policy, as the template's context."""
    return {name: part(policy, user) for name, part in _parts.items()}
