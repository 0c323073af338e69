"""CSV files: the policies list (streamed) and the records of an evidence pack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.auth.models import User
from governance.csvfile import ROWS_PER_CHUNK
from governance.extensions import db
from governance.policies import visibility
from governance.policies.models import Policy, PolicyRevision, split_tags

POLICY_COLUMNS = (
    "id",
    "title",
    "status",
    "category",
    "tags",
    "owner",
    "current_revision",
    "live_version",
    "next_review",
    "updated",
)


def policy_rows(statement: sa.Select, user: User) -> Iterator[list[Any]]:
    """The rows of the policies list `statement` (policy_list_statement), with each policy's
    live version label, read in batches so an export of any size holds one batch in memory.
    Each row says what `user` reads of the policy (visibility.policy_face), as the list does."""
    live = so.aliased(PolicyRevision)
    statement = statement.add_columns(
        live.version_label, live.title, live.category, live.tags
    ).outerjoin(
        live,
        sa.and_(live.policy_id == Policy.id, live.number == Policy.published_revision),
    )
    result = db.session.execute(statement.execution_options(yield_per=ROWS_PER_CHUNK))
    for policy, live_label, *live_face in result:
        # Beside a draft the user may not read, the row is the live version's.
        as_is = live_label is None or visibility.can_read_policy_as_is(user, policy)
        title, category, tags = (policy.title, policy.category, policy.tags) if as_is else live_face
        yield [
            policy.id,
            title,
            policy.status,
            category,
            ", ".join(split_tags(tags)),
            policy.owner.name,
            policy.current_revision,
            live_label or "",
            policy.next_review_on.isoformat() if policy.next_review_on else "",
            policy.updated_at.isoformat(timespec="seconds"),
        ]
