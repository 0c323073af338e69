"""Policy rules: who may see, create, edit and move a policy, each change in one transaction
with its revision, its audit event and its domain event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.exc import StaleDataError

from governance import events
from governance.audit.service import diff_fields, record_event
from governance.auth.models import User, UserRole
from governance.engine.models import Execution
from governance.errors import Conflict, DomainError, NotAllowed, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies import cadence, gate, lifecycle, versions, visibility
from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated
from governance.policies.models import CHANGE_KINDS, MAJOR, Policy, PolicyRevision
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

READ_ALL_ROLES = visibility.READ_ALL_ROLES
WRITE_ROLES = frozenset({"admin", "owner"})
MAX_TAGS = 20


@dataclass
class PolicyInput:
    """The editable content of a policy, as plain values."""

    title: str
    body: str
    category: str
    owner_id: int
    # As typed (comma-separated) or a list; the validated input always holds the list.
    tags: str | list[str] = field(default_factory=list)
    # Review cadence: monthly, quarterly, yearly or custom (every review_interval_days days);
    # next_review_on is the first (or next) intended review date, the cadence's anchor.
    # An interval without a frequency (older API clients) means a custom cadence.
    review_frequency: str | None = None
    review_interval_days: int | None = None
    next_review_on: date | None = None


def normalise_tags(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    tags = sorted({" ".join(item.split()).lower() for item in items if item.strip()})
    if len(tags) > MAX_TAGS:
        raise DomainError(f"Use at most {MAX_TAGS} tags.", field="tags")
    if any(len(tag) > 40 for tag in tags):
        raise DomainError("Each tag must be at most 40 characters.", field="tags")
    return tags


# ---------------------------------------------------------------- permissions


# Who reads which policy is policies.visibility's rule; these names are kept for the callers.
can_view = visibility.can_read_policy
can_read_drafts = visibility.can_read_drafts


def can_create(user: User) -> bool:
    return user.has_role(*WRITE_ROLES)


def can_manage(user: User, policy: Policy) -> bool:
    """The policy's owner (holding the owner role) or an admin: who edits its drafts, sets its
    acknowledgement audience, records its reviews and asks for or revokes its exceptions."""
    return user.is_admin or (policy.owner_id == user.id and user.has_role("owner"))


def can_edit(user: User, policy: Policy) -> bool:
    """Only the owner (holding the owner role) or an admin edits, and only while it is a draft."""
    return policy.status in lifecycle.EDITABLE_STATUSES and can_manage(user, policy)


def can_choose_owner(user: User) -> bool:
    return user.is_admin


def _permitted_transitions(user: User, policy: Policy) -> list[lifecycle.Transition]:
    """The moves this user's roles and relation to the policy allow, gate aside."""
    candidates = [t for t in lifecycle.TRANSITIONS if t.source == policy.status]
    # The authors are read only when a four-eyes move is on offer (Approve, from review).
    wrote_change = any(t.four_eyes for t in candidates) and user.id in versions.change_authors(
        policy
    )
    return [
        transition
        for transition in candidates
        if lifecycle.may_take(
            transition,
            actor_roles=user.roles,
            is_owner=policy.owner_id == user.id and user.has_role("owner"),
            is_submitter=policy.submitted_by_id == user.id,
            wrote_change=wrote_change,
        )
    ]


def available_transitions(user: User, policy: Policy) -> list[lifecycle.Transition]:
    """The moves open to this user now: while a workflow execution gates the policy's
    status, only those that send it back to draft."""
    permitted = _permitted_transitions(user, policy)
    if any(t.gated for t in permitted) and gate.gating_execution(policy) is not None:
        return [t for t in permitted if not t.gated]
    return permitted


def transition_gate(user: User, policy: Policy) -> Execution | None:
    """The execution holding moves this user could otherwise take, to show them why."""
    if not any(t.gated for t in _permitted_transitions(user, policy)):
        return None
    return gate.gating_execution(policy)


def get_policy(policy_id: int) -> Policy:
    return get_or_raise(Policy, policy_id, "No such policy.")


def get_visible_policy(policy_id: int, user: User) -> Policy:
    """The policy if it exists and this user may read it; otherwise 404 (never reveal drafts)."""
    policy = get_policy(policy_id)
    if not can_view(user, policy):
        raise NotFound("No such policy.")
    return policy


def eligible_owners() -> list[User]:
    """Active users who can own a policy: owners and admins."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.is_enabled.is_(True),
                User.id.in_(
                    sa.select(UserRole.user_id).where(UserRole.role.in_(("owner", "admin")))
                ),
            )
            .order_by(User.name)
        )
    )


# ---------------------------------------------------------------- changes


def _validated(data: PolicyInput, max_body: int) -> PolicyInput:
    title = " ".join(data.title.split())
    if not title:
        raise DomainError("Give the policy a title.", field="title")
    if len(title) > 200:
        raise DomainError("The title must be at most 200 characters.", field="title")
    category = " ".join(data.category.split())
    if not category:
        raise DomainError("Choose or type a category.", field="category")
    if len(category) > 80:
        raise DomainError("The category must be at most 80 characters.", field="category")
    if len(data.body) > max_body:
        raise DomainError(
            f"The text is too long ({len(data.body):,} characters; the limit is {max_body:,}).",
            field="body",
        )
    owner = db.session.get(User, data.owner_id) if data.owner_id else None
    if owner is None or not owner.is_enabled or not owner.has_role("owner", "admin"):
        raise DomainError(
            "Choose an owner from the list of active policy owners.", field="owner_id"
        )
    frequency, interval = _validated_cadence(data.review_frequency, data.review_interval_days)
    next_review = data.next_review_on
    if next_review is None and frequency:
        next_review = cadence.default_first_review(frequency, utcnow().date(), interval)
    return PolicyInput(
        title=title,
        body=data.body.replace("\r\n", "\n"),
        category=category,
        owner_id=owner.id,
        tags=normalise_tags(data.tags),
        review_frequency=frequency,
        review_interval_days=interval,
        next_review_on=next_review,
    )


def _validated_cadence(
    frequency: str | None, interval: int | None
) -> tuple[str | None, int | None]:
    frequency = frequency or ("custom" if interval is not None else None)
    if frequency is None:
        return None, None
    if frequency not in cadence.FREQUENCIES:
        raise DomainError("Choose how often the policy is reviewed.", field="review_frequency")
    if frequency != "custom":
        return frequency, None
    if interval is None:
        raise DomainError(
            "Give the number of days between reviews for a custom cadence.",
            field="review_interval_days",
        )
    if not 1 <= interval <= cadence.MAX_CUSTOM_DAYS:
        raise DomainError(
            f"The review interval must be between 1 and {cadence.MAX_CUSTOM_DAYS} days.",
            field="review_interval_days",
        )
    return frequency, interval


def _content(policy: Policy) -> dict:
    return {
        "title": policy.title,
        "body": policy.body,
        "category": policy.category,
        "tags": policy.tags,
        "owner_id": policy.owner_id,
        "review_frequency": policy.review_frequency,
        "review_interval_days": policy.review_interval_days,
        "next_review_on": policy.next_review_on.isoformat() if policy.next_review_on else None,
    }


def _apply(policy: Policy, data: PolicyInput) -> None:
    policy.title = data.title
    policy.body = data.body
    policy.category = data.category
    policy.owner_id = data.owner_id
    policy.tags = ",".join(data.tags)
    cadence = (data.review_frequency, data.review_interval_days, data.next_review_on)
    if cadence != (policy.review_frequency, policy.review_interval_days, policy.next_review_on):
        # A new cadence or date starts a new schedule from the date chosen; an unchanged one
        # keeps its anchor (31 January stays the 31st after a clamped 28 February).
        policy.review_frequency, policy.review_interval_days, policy.next_review_on = cadence
        policy.review_anchor_on = data.next_review_on if data.review_frequency else None
        policy.review_reminder_level = None
        policy.review_overdue_since = None


def _add_revision(policy: Policy, author: User, summary: str) -> PolicyRevision:
    revision = PolicyRevision(
        policy_id=policy.id,
        number=policy.current_revision,
        author_id=author.id,
        summary=summary.strip()[:200],
        title=policy.title,
        body=policy.body,
        category=policy.category,
        tags=policy.tags,
        owner_id=policy.owner_id,
        review_interval_days=policy.review_interval_days,
        next_review_on=policy.next_review_on,
    )
    db.session.add(revision)
    return revision


def _what_is(policy: Policy, actor: User) -> dict:
    return {
        "policy_id": policy.id,
        "actor_id": actor.id,
        "revision": policy.current_revision,
        "status": policy.status,
    }


@unit_of_work()
def create_policy(data: PolicyInput, *, actor: User, max_body: int, summary: str = "") -> int:
    if not can_create(actor):
        raise NotAllowed("Only policy owners and admins create policies.")
    if not can_choose_owner(actor):
        data.owner_id = actor.id
    data = _validated(data, max_body)
    policy = Policy(status=lifecycle.DRAFT, current_revision=1)
    _apply(policy, data)
    db.session.add(policy)
    db.session.flush()
    _add_revision(policy, actor, summary or "First version")
    record_event(
        actor_id=actor.id,
        action="policy.created",
        object_type="policy",
        object_id=policy.id,
        summary=f"Created policy “{policy.title}”",
        changes=diff_fields({}, _content(policy)),
    )
    events.publish(PolicyCreated(**_what_is(policy, actor)))
    return policy.id


@unit_of_work()
def update_policy(
    policy_id: int,
    data: PolicyInput,
    *,
    actor: User,
    expected_version: int,
    max_body: int,
    summary: str = "",
) -> int:
    """Save an edit as a new revision; a form opened before someone else's save is refused."""
    policy = get_policy(policy_id)
    if not can_edit(actor, policy):
        if policy.status not in lifecycle.EDITABLE_STATUSES:
            raise NotAllowed(
                f"This policy is {policy.status_label.lower()}; only drafts can be edited."
            )
        raise NotAllowed("Only the policy's owner or an admin can edit it.")
    if policy.version != expected_version:
        raise Conflict(_stale_message(policy))
    if not can_choose_owner(actor):
        data.owner_id = policy.owner_id
    data = _validated(data, max_body)
    before = _content(policy)
    _apply(policy, data)
    changes = diff_fields(before, _content(policy))
    if not changes:
        raise DomainError("Nothing changed, so no new revision was saved.")
    policy.current_revision += 1
    policy.updated_at = utcnow()
    _add_revision(policy, actor, summary or "Edited")
    record_event(
        actor_id=actor.id,
        action="policy.updated",
        object_type="policy",
        object_id=policy.id,
        summary=f"Edited policy “{policy.title}” (revision {policy.current_revision})",
        changes=changes,
    )
    # Subscribers start the matching workflows and re-ask approvals decided on the old content.
    events.publish(PolicyUpdated(**_what_is(policy, actor), changed=tuple(sorted(changes))))
    _flush_or_conflict()
    return policy.current_revision


def _find_transition(policy: Policy, target: str) -> lifecycle.Transition:
    if target not in lifecycle.STATUSES:
        raise DomainError(f"“{target}” is not a policy status.")
    transition = lifecycle.find_transition(policy.status, target)
    if transition is None:
        allowed = ", ".join(
            lifecycle.STATUS_LABELS[t] for t in lifecycle.allowed_targets(policy.status)
        )
        raise DomainError(
            f"A {policy.status_label.lower()} policy cannot become "
            f"{lifecycle.STATUS_LABELS[target].lower()}."
            + (f" Allowed next: {allowed}." if allowed else " It is final.")
        )
    return transition


@unit_of_work()
def transition_policy(
    policy_id: int,
    target: str,
    *,
    actor: User,
    reason: str = "",
    expected_version: int | None = None,
    change_kind: str | None = None,
) -> None:
    """A person moves a policy along its lifecycle (role and four-eyes checked).

    A gated move (all but those back to draft) is refused (Conflict) while a workflow
    execution gates the policy's status (see gate.py): it would skip that execution's review.

    Submitting for review takes the change kind ("major" or "minor") that decides the
    version label at publication; a policy never published before always becomes 1.0.
    """
    policy = get_policy(policy_id)
    transition = _find_transition(policy, target)
    if expected_version is not None and policy.version != expected_version:
        raise Conflict(_stale_message(policy))
    if transition.four_eyes and policy.submitted_by_id == actor.id:
        raise NotAllowed(
            "You submitted this change, so someone else must approve it (four-eyes rule)."
        )
    if transition.four_eyes and actor.id in versions.change_authors(policy):
        raise NotAllowed(
            "You wrote part of this change (a revision since the last published version), "
            "so someone else must approve it (four-eyes rule)."
        )
    if transition not in _permitted_transitions(actor, policy):
        raise NotAllowed(f"You are not allowed to {transition.action.lower()} this policy.")
    gating = gate.gating_execution(policy) if transition.gated else None
    if gating is not None:
        raise Conflict(gate.refusal_message(gating))
    reason = reason.strip()
    if transition.needs_reason and not reason:
        raise DomainError(f"Give a reason to {transition.action.lower()}.", field="reason")
    if len(reason) > 500:
        raise DomainError("The reason must be at most 500 characters.", field="reason")
    if target == lifecycle.IN_REVIEW:
        if change_kind not in (None, *CHANGE_KINDS):
            raise DomainError("Choose a major or a minor change.", field="change_kind")
        policy.change_kind = change_kind or MAJOR
    _change_status(policy, target, actor_id=actor.id, reason=reason)
    _flush_or_conflict()


def apply_workflow_transition(policy_id: int, target: str, *, execution_id: int) -> None:
    """A workflow step moves the policy: the same transition table, no person's role.

    No commit: the change lands in the step's own transaction, or not at all.
    """
    policy = get_policy(policy_id)
    transition = _find_transition(policy, target)
    reason = f"by workflow execution {execution_id}" if transition.needs_reason else ""
    _change_status(policy, target, actor_id=None, reason=reason, execution_id=execution_id)


def _change_status(
    policy: Policy,
    target: str,
    *,
    actor_id: int | None,
    reason: str,
    execution_id: int | None = None,
) -> None:
    """The only place a policy's status changes, with its audit event and domain event."""
    old_status = policy.status
    policy.status = target
    policy.status_changed_at = utcnow()
    policy.updated_at = policy.status_changed_at
    if target == lifecycle.IN_REVIEW and actor_id is not None:
        policy.submitted_by_id = actor_id
    if target == lifecycle.RETIRED:
        policy.retired_reason = reason
    if target == lifecycle.APPROVED and actor_id is not None:
        policy.approved_by_id = actor_id
    if target == lifecycle.DRAFT:
        policy.approved_by_id = None
    if target == lifecycle.PUBLISHED:
        versions.freeze_current_revision_in_transaction(policy, actor_id=actor_id)
        policy.published_revision = policy.current_revision
    via = f" (workflow execution {execution_id})" if execution_id else ""
    record_event(
        actor_id=actor_id,
        action="policy.status_changed",
        object_type="policy",
        object_id=policy.id,
        summary=f"“{policy.title}”: {lifecycle.STATUS_LABELS[old_status]} → "
        f"{lifecycle.STATUS_LABELS[target]}" + (f" ({reason})" if reason else "") + via,
        changes={"status": {"before": old_status, "after": target}}
        | ({"reason": {"before": None, "after": reason}} if reason else {}),
    )
    events.publish(
        PolicyStatusChanged(
            policy_id=policy.id,
            actor_id=actor_id,
            revision=policy.current_revision,
            status=policy.status,
            old_status=old_status,
            new_status=target,
            reason=reason,
            source_execution_id=execution_id,
        )
    )


def assign_by_workflow(policy_id: int, role: str, user_id: int, *, execution_id: int) -> None:
    """A workflow step sets the owner or reviewer. No commit: part of the step's transaction."""
    policy = get_policy(policy_id)
    user = db.session.get(User, user_id)
    if user is None or not user.is_enabled:
        raise DomainError("The user to assign no longer exists or is deactivated.")
    if role == "owner" and not user.has_role("owner", "admin"):
        raise DomainError(f"{user.name} cannot own policies (no owner or admin role).")
    column = "owner_id" if role == "owner" else "reviewer_id"
    before = getattr(policy, column)
    setattr(policy, column, user.id)
    policy.updated_at = utcnow()
    record_event(
        actor_id=None,
        action="policy.assigned",
        object_type="policy",
        object_id=policy.id,
        summary=f"“{policy.title}”: {role} set to {user.name} (workflow execution {execution_id})",
        changes={column: {"before": before, "after": user.id}},
    )


def _stale_message(policy: Policy) -> str:
    return (
        f"“{policy.title}” was changed by someone else after you opened it "
        f"(it is now at revision {policy.current_revision}, {policy.status_label.lower()}). "
        "Your changes were not saved. Reload the policy and apply them again."
    )


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError as error:
        # Two saves raced past the version check; the database's version column decided.
        raise Conflict(
            "Someone else saved this policy at the same moment. Your changes were not saved; "
            "reload the policy and apply them again."
        ) from error


# ---------------------------------------------------------------- reading


@dataclass
class PolicyQuery:
    text: str = ""
    status: str = ""
    owner_id: int | None = None
    category: str = ""
    review_due: bool = False
    # "due30" (a live version due for review in the next 30 days) or "overdue" (flagged).
    review: str = ""
    sort: str = "updated"
    page: int = 1

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.text
            or self.status
            or self.category
            or self.owner_id
            or self.review_due
            or self.review
        )


REVIEW_FILTERS = {"due30": "Review due in 30 days", "overdue": "Review overdue"}


SORTS: dict[str, tuple[sa.UnaryExpression, ...]] = {
    "updated": (Policy.updated_at.desc(), Policy.id.desc()),
    "title": (Policy.title.asc(), Policy.id.asc()),
    "review": (Policy.next_review_on.asc().nulls_last(), Policy.id.asc()),
    "status": (Policy.status.asc(), Policy.updated_at.desc(), Policy.id.desc()),
}
SORT_LABELS = {
    "updated": "Recently updated",
    "title": "Title A–Z",
    "review": "Next review",
    "status": "Status",
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def policy_list_statement(query: PolicyQuery, user: User) -> sa.Select:
    statement = sa.select(Policy).options(so.joinedload(Policy.owner))
    readable = visibility.readable_policies(user)
    if readable is not None:
        statement = statement.where(readable)
    if query.text:
        statement = statement.where(_text_matches(query.text, user))
    if query.status in lifecycle.STATUSES:
        statement = statement.where(Policy.status == query.status)
    if query.owner_id:
        statement = statement.where(Policy.owner_id == query.owner_id)
    if query.category:
        statement = statement.where(Policy.category == query.category)
    if query.review_due:
        statement = statement.where(
            Policy.status == lifecycle.PUBLISHED, Policy.next_review_on <= utcnow().date()
        )
    if query.review in REVIEW_FILTERS:
        statement = statement.where(*review_filter(query.review))
    return statement.order_by(*SORTS.get(query.sort, SORTS["updated"]))


def find_policies(text: str, user: User, *, limit: int) -> list[Policy]:
    """At most `limit` policies this user may read that the list's search finds for `text`
    (all of them when it is empty), by title: what a policy picker offers."""
    statement = policy_list_statement(PolicyQuery(text=text, sort="title"), user)
    return list(db.session.scalars(statement.limit(limit)))


def _text_matches(text: str, user: User) -> sa.ColumnElement[bool]:
    """The search: in the policy's own text, or, for who may not read a draft beside the live
    version, in that live version's text (a search must not find words only the draft has)."""
    pattern = f"%{_escape_like(text.strip())}%"
    own = sa.or_(Policy.title.ilike(pattern, escape="\\"), Policy.body.ilike(pattern, escape="\\"))
    if visibility.can_read_drafts(user):
        return own
    live = sa.select(PolicyRevision.policy_id).where(
        PolicyRevision.policy_id == Policy.id,
        PolicyRevision.number == Policy.published_revision,
        sa.or_(
            PolicyRevision.title.ilike(pattern, escape="\\"),
            PolicyRevision.body.ilike(pattern, escape="\\"),
        ),
    )
    return sa.or_(sa.and_(Policy.status == lifecycle.PUBLISHED, own), live.exists())


def review_filter(review: str) -> list[sa.ColumnElement[bool]]:
    """The dashboard's review figures as list filters; the same conditions count them."""
    today = utcnow().date()
    live = [Policy.published_revision.is_not(None), Policy.status != lifecycle.RETIRED]
    if review == "overdue":
        return [*live, Policy.review_overdue_since.is_not(None)]
    return [
        *live,
        Policy.review_overdue_since.is_(None),
        Policy.next_review_on.between(today, today + timedelta(days=30)),
    ]


# A "skip scan": each step jumps to the next distinct category through ix_policies_category,
# so listing a handful of categories costs a handful of index probes, not a table scan.
_DISTINCT_CATEGORIES = sa.text(
    """
    WITH RECURSIVE found(category) AS (
        SELECT MIN(category) FROM policies
        UNION ALL
        SELECT (SELECT MIN(category) FROM policies WHERE category > found.category)
        FROM found WHERE found.category IS NOT NULL
    )
    SELECT category FROM found WHERE category IS NOT NULL
    """
)


def list_categories() -> list[str]:
    return list(db.session.scalars(_DISTINCT_CATEGORIES))


def list_revisions(policy_id: int) -> list[PolicyRevision]:
    return list(
        db.session.scalars(
            sa.select(PolicyRevision)
            .where(PolicyRevision.policy_id == policy_id)
            .order_by(PolicyRevision.number.desc())
        )
    )


def list_readable_revisions(policy_id: int, user: User) -> list[PolicyRevision]:
    """Every revision for drafting roles; only published versions for everyone else."""
    revisions = list_revisions(policy_id)
    if can_read_drafts(user):
        return revisions
    return [revision for revision in revisions if revision.is_frozen]


def get_readable_revision(policy_id: int, number: int, user: User) -> PolicyRevision:
    revision = get_revision(policy_id, number)
    if not can_read_drafts(user) and not revision.is_frozen:
        raise NotFound(f"This policy has no revision {number}.")
    return revision


def get_revision(policy_id: int, number: int) -> PolicyRevision:
    revision = db.session.scalar(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == policy_id, PolicyRevision.number == number
        )
    )
    if revision is None:
        raise NotFound(f"This policy has no revision {number}.")
    return revision
