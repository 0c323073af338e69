"""Published versions: freezing a revision at publication (label, content hash, approvers)
and reading the versions back. A frozen revision never changes; the database refuses it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance import events
from governance.auth.models import User
from governance.errors import NotFound
from governance.extensions import db
from governance.policies.events import PolicyVersionPublished
from governance.policies.models import MAJOR, MINOR, Policy, PolicyRevision
from governance.timeutil import utcnow

# (policy id, content hash) -> who approved that content, each {"id", "name", "at", "via"},
# oldest decision first; registered by the features that record approvals.
ApprovalSource = Callable[[int, str], list[dict[str, Any]]]
_approval_sources: list[ApprovalSource] = []


def content_hash(*, title: str, category: str, tags: str, body: str) -> str:
    """SHA-256 of the canonical content: the fields a reader reads, as sorted compact JSON.

    The migration that froze existing versions holds a copy; keep the two in step.
    """
    canonical = json.dumps(
        {"title": title, "category": category, "tags": tags, "body": body},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def policy_content_hash(policy: Policy | PolicyRevision) -> str:
    return content_hash(
        title=policy.title, category=policy.category, tags=policy.tags, body=policy.body
    )


def next_label(previous: str | None, change_kind: str) -> str:
    """ "1.0" first; a major change moves to the next whole number, a minor one adds 0.1."""
    if previous is None:
        return "1.0"
    major, minor = (int(part) for part in previous.split("."))
    return f"{major + 1}.0" if change_kind == MAJOR else f"{major}.{minor + 1}"


def latest_version(policy_id: int) -> PolicyRevision | None:
    return db.session.scalar(
        sa.select(PolicyRevision)
        .where(PolicyRevision.policy_id == policy_id, PolicyRevision.version_label.is_not(None))
        .order_by(PolicyRevision.published_at.desc(), PolicyRevision.id.desc())
        .limit(1)
    )


def latest_label(policy_id: int) -> str | None:
    latest = latest_version(policy_id)
    return latest.version_label if latest else None


def list_versions(policy_id: int) -> list[PolicyRevision]:
    """Every published version of the policy, newest first."""
    return list(
        db.session.scalars(
            sa.select(PolicyRevision)
            .where(PolicyRevision.policy_id == policy_id, PolicyRevision.version_label.is_not(None))
            .order_by(PolicyRevision.published_at.desc(), PolicyRevision.id.desc())
        )
    )


def live_version(policy: Policy) -> PolicyRevision | None:
    """The version readers see now, or None (never published, or retired)."""
    if not policy.has_live_version:
        return None
    return db.session.scalar(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == policy.id,
            PolicyRevision.number == policy.published_revision,
        )
    )


def get_version(policy_id: int, label: str) -> PolicyRevision:
    version = db.session.scalar(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == policy_id, PolicyRevision.version_label == label
        )
    )
    if version is None:
        raise NotFound(f"This policy has no published version {label}.")
    return version


def previous_version(version: PolicyRevision) -> PolicyRevision | None:
    """The version published just before this one, for "what changed"."""
    return db.session.scalar(
        sa.select(PolicyRevision)
        .where(
            PolicyRevision.policy_id == version.policy_id,
            PolicyRevision.version_label.is_not(None),
            PolicyRevision.published_at < version.published_at,
        )
        .order_by(PolicyRevision.published_at.desc(), PolicyRevision.id.desc())
        .limit(1)
    )


def change_authors_of(policy_ids: set[int]) -> dict[int, set[int]]:
    """Who wrote the change under review of each policy: the authors of every revision after
    the last version published before its current revision (every revision if it was never
    published before). For a policy just published, that is the change it was published with.

    One query for any number of policies (the inbox asks for a whole page at once).
    """
    if not policy_ids:
        return {}
    frozen = so.aliased(PolicyRevision)
    base = (
        sa.select(sa.func.coalesce(sa.func.max(frozen.number), 0))
        .where(
            frozen.policy_id == PolicyRevision.policy_id,
            frozen.version_label.is_not(None),
            frozen.number < Policy.current_revision,
        )
        .correlate(PolicyRevision, Policy)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(PolicyRevision.policy_id, PolicyRevision.author_id)
        .join(Policy, Policy.id == PolicyRevision.policy_id)
        .where(
            PolicyRevision.policy_id.in_(policy_ids),
            PolicyRevision.number > base,
            PolicyRevision.number <= Policy.current_revision,
        )
        .distinct()
    )
    authors: dict[int, set[int]] = {policy_id: set() for policy_id in policy_ids}
    for policy_id, author_id in rows:
        authors[policy_id].add(author_id)
    return authors


def change_authors(policy: Policy) -> set[int]:
    return change_authors_of({policy.id})[policy.id]


def register_approval_source(source: ApprovalSource) -> None:
    """A feature that approves content (approvals' workflow decisions) tells, from its
    register(app), who approved a content hash: policies cannot import the features above it."""
    if source not in _approval_sources:
        _approval_sources.append(source)


def approvers_of(policy: Policy, digest: str) -> list[dict[str, Any]]:
    """Who approved exactly this content: workflow approvals whose decision carries this
    hash, and the person who took the manual "Approve" step. Oldest decision first."""
    approvers = [item for source in _approval_sources for item in source(policy.id, digest)]
    manual = db.session.get(User, policy.approved_by_id) if policy.approved_by_id else None
    if manual is not None and all(item["id"] != manual.id for item in approvers):
        approvers.append(
            {"id": manual.id, "name": manual.name, "at": None, "via": "manual approval"}
        )
    return approvers


def freeze_current_revision_in_transaction(
    policy: Policy, *, actor_id: int | None
) -> PolicyRevision:
    """Publication: the current revision becomes a frozen, labelled version (no commit).

    Publishes `policy.version_published` in the same transaction so acknowledgements and
    anything else keyed on versions follow the publication or roll back with it.
    """
    revision = db.session.scalars(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == policy.id,
            PolicyRevision.number == policy.current_revision,
        )
    ).one()
    if revision.is_frozen:
        # Published again without an edit in between (a revision started and abandoned):
        # the same content, so the same version.
        return revision
    previous = latest_version(policy.id)
    change_kind = policy.change_kind if previous is not None else MAJOR
    if change_kind not in (MAJOR, MINOR):
        change_kind = MAJOR
    digest = policy_content_hash(revision)
    label = next_label(previous.version_label if previous else None, change_kind)
    # Everything is read before anything is set: the revision must reach the database in
    # one UPDATE, because once it carries a label the database refuses any other.
    approvers = approvers_of(policy, digest)
    revision.version_label = label
    revision.content_hash = digest
    revision.change_kind = change_kind
    revision.published_at = utcnow()
    revision.published_by_id = actor_id
    revision.approvers = approvers
    policy.approved_by_id = None
    db.session.flush()
    events.publish(
        PolicyVersionPublished(
            policy_id=policy.id,
            revision_id=revision.id,
            version_label=revision.version_label,
            change_kind=change_kind,
            previous_label=previous.version_label if previous else None,
            actor_id=actor_id,
        )
    )
    return revision
