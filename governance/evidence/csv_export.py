"""CSV files: the policies list (streamed) and the records of an evidence pack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.csvfile import ROWS_PER_CHUNK
from governance.extensions import db
from governance.policies.models import Policy, PolicyRevision

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


def policy_rows(statement: sa.Select) -> Iterator[list[Any]]:
    """The rows of the policies list `statement` (policy_list_statement), with each policy's
    live version label, read in batches so an export of any size holds one batch in memory."""
    live = so.aliased(PolicyRevision)
    statement = statement.add_columns(live.version_label).outerjoin(
        live,
        sa.and_(live.policy_id == Policy.id, live.number == Policy.published_revision),
    )
    result = db.session.execute(statement.execution_options(yield_per=ROWS_PER_CHUNK))
    for policy, live_label in result:
        yield [
            policy.id,
            policy.title,
            policy.status,
            policy.category,
            ", ".join(policy.tag_list),
            policy.owner.name,
            policy.current_revision,
            live_label or "",
            policy.next_review_on.isoformat() if policy.next_review_on else "",
            policy.updated_at.isoformat(timespec="seconds"),
        ]
