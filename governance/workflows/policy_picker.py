"""The policy picker of the workflow page's Run and Dry run forms: what its search found (title,
status, owner), bounded, among the policies the user may read (the policies list's own search)."""

from __future__ import annotations

from dataclasses import dataclass, field

from governance.auth.models import User
from governance.policies import service as policies
from governance.policies.models import Policy

# name -> whether a policy must be chosen: Run needs one, a dry run may go without.
PICKERS = {"run": True, "dry": False}
LIMIT = 20  # listed at most; more found says "type more to narrow"
MAX_TEXT = 200  # as the policies list's search box


@dataclass
class PolicyPicker:
    name: str  # "run" or "dry": the prefix of its element ids
    text: str
    policies: list[Policy]
    more: bool  # the search found more than are listed
    selected: int | None
    errors: list[str] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return PICKERS[self.name]

    @property
    def size(self) -> int:
        """Rows of the listbox: every option up to 8, never fewer than 2 (1 makes a dropdown)."""
        options = len(self.policies) + (0 if self.required else 1)
        return max(2, min(options, 8))

    @property
    def summary(self) -> str:
        found = len(self.policies)
        if self.text and self.more:
            return f"More than {LIMIT} policies match “{self.text}”: the first {LIMIT} by title."
        if self.more:
            return f"The first {LIMIT} policies by title: type part of a title to find others."
        if self.text:
            if not found:
                return f"No policy matches “{self.text}”."
            return f"{found} {'policy matches' if found == 1 else 'policies match'} “{self.text}”."
        return "There are no policies yet." if not found else f"All {found} policies, by title."


def pick(
    name: str,
    user: User,
    *,
    text: str = "",
    selected: int | None = None,
    errors: list[str] | None = None,
) -> PolicyPicker:
    """The picker `name` listing what `text` finds; `selected` stays chosen while it is listed,
    and a search that finds one policy chooses it."""
    text = " ".join(text.split())[:MAX_TEXT]
    found = policies.find_policies(text, user, limit=LIMIT + 1)
    listed = found[:LIMIT]
    if selected not in {policy.id for policy in listed}:
        selected = listed[0].id if len(listed) == 1 else None
    return PolicyPicker(name, text, listed, len(found) > LIMIT, selected, list(errors or []))
