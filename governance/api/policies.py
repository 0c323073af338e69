"""/api/v1/policies: list, read, create, update (optimistic locking), lifecycle moves."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from flask import current_app, url_for
from pydantic import BaseModel, Field, StringConstraints

from governance.api.auth import current_api_user
from governance.api.errors import ApiError
from governance.api.paging import keyset_page
from governance.api.schemas import MAX_ID, Day, PageQuery, Strict
from governance.api.spec import operation
from governance.api.text import Text, no_nul, required_text, text_pattern
from governance.policies import lifecycle, service, visibility
from governance.policies.models import Policy, PolicyRevision

TAG = "Policies"
Status = Literal["draft", "in_review", "approved", "published", "retired"]
# Blank titles and categories are refused here, with every other field, not one at a time later.
if TYPE_CHECKING:  # built by a function, which a type checker cannot read as a type
    Title = str
    Category = str
else:
    Title = required_text(200)
    Category = required_text(80)
Tag = Annotated[str, StringConstraints(max_length=40), no_nul, text_pattern]


class Owner(BaseModel):
    """A policy's owner; its id is what `owner_id` takes."""

    id: int
    name: str
    email: str


class ApproverOut(BaseModel):
    id: int
    name: str
    at: datetime | None = Field(description="When they approved (empty for a manual approval).")
    via: str = Field(description="“execution N” or “manual approval”.")


class VersionOut(BaseModel):
    """One saved revision's content; a published one also carries its frozen version."""

    number: int
    title: str
    body: str
    category: str
    tags: list[str]
    created_at: datetime
    summary: str
    version_label: str | None = Field(description="“1.0”, “1.1”…: set when published.")
    content_hash: str | None = Field(description="SHA-256 of the published content.")
    published_at: datetime | None
    published_by: str | None = Field(
        description="Who published it: a person's name, or “a workflow” when a step did."
    )
    approvers: list[ApproverOut] = Field(description="Who approved exactly this content.")


class PolicySummary(BaseModel):
    id: int
    title: str
    status: Status
    category: str
    tags: list[str]
    owner: Owner
    next_review_on: date | None
    current_revision: int
    published_revision: int | None
    version: int = Field(description="Send it back when updating: a stale one gets 409.")
    updated_at: datetime


ReviewFrequency = Literal["monthly", "quarterly", "yearly", "custom"]


class PolicyOut(PolicySummary):
    body: str
    review_frequency: ReviewFrequency | None
    review_interval_days: int | None
    review_overdue_since: date | None
    created_at: datetime
    allowed_transitions: list[Status] = Field(description="Targets this caller may move it to.")
    current_version: VersionOut
    published_version: VersionOut | None


class PolicyList(BaseModel):
    items: list[PolicySummary]
    next_cursor: str | None


class PolicyListQuery(PageQuery):
    q: Text | None = Field(default=None, max_length=200, description="Words in title or body.")
    status: Status | None = None
    category: Text | None = Field(default=None, max_length=80)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    review_due: bool = False


class PolicyCreate(Strict):
    title: Title
    body: Text = ""
    category: Category
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    owner_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Admins only; default: you."
    )
    review_frequency: ReviewFrequency | None = Field(
        default=None,
        description="Review cadence; custom needs review_interval_days. An interval alone "
        "means custom.",
    )
    review_interval_days: int | None = Field(default=None, ge=1, le=3650)
    next_review_on: Day | None = Field(
        default=None, description="First review date (default: one period from today)."
    )
    summary: Text = Field(default="", max_length=200, description="What this revision changes.")


class PolicyUpdate(Strict):
    """Only the fields sent change; `version` is the one read before editing.

    Leave a field out to keep it. Only the review fields may be sent as null (to clear them);
    a null title, body, category, tags or owner is refused, not taken as "unchanged".
    """

    version: int = Field(ge=1)
    # None only when left out: the defaults are not validated, a null that is sent is.
    title: Title = None  # type: ignore[assignment]
    body: Text = None  # type: ignore[assignment]
    category: Category = None  # type: ignore[assignment]
    tags: list[Tag] = Field(default=None, max_length=20)  # type: ignore[arg-type]
    owner_id: int = Field(default=None, ge=1, le=MAX_ID)  # type: ignore[assignment]
    review_frequency: ReviewFrequency | None = None
    review_interval_days: int | None = Field(default=None, ge=1, le=3650)
    next_review_on: Day | None = None
    summary: Text = Field(default="", max_length=200)


class TransitionIn(Strict):
    status: Status
    reason: Text = Field(default="", max_length=500)
    change_kind: Literal["major", "minor"] | None = Field(
        default=None,
        description="When submitting for review: a major change (the default) becomes the "
        "next whole version and asks readers to acknowledge again; a minor one does not.",
    )
    version: int | None = Field(default=None, ge=1, description="Refuse (409) if it changed.")


def _user(user) -> Owner:
    return Owner(id=user.id, name=user.name, email=user.email)


def _summary_fields(policy: Policy) -> dict:
    # Beside a draft the caller may not read, the live version's title, category and tags.
    face = visibility.policy_face(current_api_user(), policy)
    return {
        "id": policy.id,
        "title": face.title,
        "status": policy.status,
        "category": face.category,
        "tags": face.tag_list,
        "owner": _user(policy.owner),
        "next_review_on": policy.next_review_on,
        "current_revision": policy.current_revision,
        "published_revision": policy.published_revision,
        "version": policy.version,
        "updated_at": policy.updated_at,
    }


def _version(revision: PolicyRevision) -> VersionOut:
    return VersionOut(
        number=revision.number,
        title=revision.title,
        body=revision.body,
        category=revision.category,
        tags=revision.tag_list,
        created_at=revision.created_at,
        summary=revision.summary,
        version_label=revision.version_label,
        content_hash=revision.content_hash,
        published_at=revision.published_at,
        published_by=revision.published_by_name if revision.is_frozen else None,
        approvers=[ApproverOut(**approver) for approver in revision.approvers or []],
    )


def _policy_out(policy: Policy) -> PolicyOut:
    user = current_api_user()
    published = (
        _version(service.get_revision(policy.id, policy.published_revision))
        if policy.published_revision
        else None
    )
    current = _version(service.get_revision(policy.id, policy.current_revision))
    fields = _summary_fields(policy) | {"body": policy.body}
    if not service.can_read_drafts(user) and published is not None:
        # Readers without a drafting role see the live version, never a draft beside it.
        current = published
        fields |= {
            "title": published.title,
            "body": published.body,
            "category": published.category,
            "tags": published.tags,
        }
    return PolicyOut(
        **fields,
        review_frequency=policy.review_frequency,
        review_interval_days=policy.review_interval_days,
        review_overdue_since=policy.review_overdue_since,
        created_at=policy.created_at,
        allowed_transitions=[t.target for t in service.available_transitions(user, policy)],
        current_version=current,
        published_version=published,
    )


@operation(
    "/policies",
    summary="List policies",
    tag=TAG,
    query=PolicyListQuery,
    responses={200: PolicyList},
    description="Newest first. Viewers see published policies only.",
)
def list_policies(query: PolicyListQuery):
    statement = service.policy_list_statement(
        service.PolicyQuery(
            text=query.q or "",
            status=query.status or "",
            owner_id=query.owner_id,
            category=query.category or "",
            review_due=query.review_due,
        ),
        current_api_user(),
    )
    policies, next_cursor = keyset_page(statement, Policy.id, query)
    return PolicyList(
        items=[PolicySummary(**_summary_fields(p)) for p in policies], next_cursor=next_cursor
    )


@operation(
    "/policies/<int:policy_id>",
    summary="Get a policy with its current and published version",
    tag=TAG,
    responses={200: PolicyOut},
)
def get_policy(policy_id: int):
    return _policy_out(service.get_visible_policy(policy_id, current_api_user()))


def _max_body() -> int:
    return current_app.config["POLICY_BODY_MAX_CHARS"]


@operation(
    "/policies",
    "POST",
    summary="Create a draft policy",
    tag=TAG,
    body=PolicyCreate,
    roles=("owner", "admin"),
    responses={201: PolicyOut},
    refusals={
        422: "Also: `owner_id` sent by a non-admin, or not an active policy owner; a body "
        "longer than this server allows; a custom cadence without `review_interval_days`.",
    },
    headers={201: {"Location": "The new policy's URL."}},
    links={
        "get_policy": "policy_id",
        "update_policy": "policy_id",
        "transition_policy": "policy_id",
    },
)
def create_policy(body: PolicyCreate):
    user = current_api_user()
    if body.owner_id is not None and not service.can_choose_owner(user):
        raise ApiError(
            422,
            "Only admins choose a policy's owner.",
            details=[{"field": "owner_id", "message": "Leave it out: you own what you create."}],
        )
    policy_id = service.create_policy(
        service.PolicyInput(
            title=body.title,
            body=body.body,
            category=body.category,
            owner_id=body.owner_id or user.id,
            tags=body.tags,
            review_frequency=body.review_frequency,
            review_interval_days=body.review_interval_days,
            next_review_on=body.next_review_on,
        ),
        actor=user,
        max_body=_max_body(),
        summary=body.summary,
    )
    location = url_for("api.get_policy", policy_id=policy_id)
    return _policy_out(service.get_policy(policy_id)), 201, {"Location": location}


@operation(
    "/policies/<int:policy_id>",
    "PATCH",
    summary="Edit a draft policy (a new revision)",
    tag=TAG,
    body=PolicyUpdate,
    roles=("owner", "admin"),
    responses={200: PolicyOut},
    refusals={
        403: "Or not the policy's owner or an admin, or the policy is not a draft.",
        409: "`version` is stale: someone saved the policy after you read it.",
        422: "Also: nothing differs from the saved policy (no revision is added); "
        "`owner_id` sent by a non-admin, or not an active policy owner; a body longer than "
        "this server allows; a custom cadence without `review_interval_days`.",
    },
)
def update_policy(policy_id: int, body: PolicyUpdate):
    user = current_api_user()
    policy = service.get_visible_policy(policy_id, user)
    sent = body.model_fields_set
    if "owner_id" in sent and not service.can_choose_owner(user):
        raise ApiError(
            422,
            "Only admins change a policy's owner.",
            details=[{"field": "owner_id", "message": "Leave it out."}],
        )

    def chosen(name: str, current):
        return getattr(body, name) if name in sent else current

    service.update_policy(
        policy.id,
        service.PolicyInput(
            title=chosen("title", policy.title),
            body=chosen("body", policy.body),
            category=chosen("category", policy.category),
            owner_id=chosen("owner_id", policy.owner_id),
            tags=chosen("tags", policy.tag_list),
            # These may be cleared with null. An interval sent alone keeps meaning "custom".
            review_frequency=body.review_frequency
            if "review_frequency" in sent
            else (None if "review_interval_days" in sent else policy.review_frequency),
            review_interval_days=body.review_interval_days
            if "review_interval_days" in sent
            else policy.review_interval_days,
            next_review_on=body.next_review_on
            if "next_review_on" in sent
            else policy.next_review_on,
        ),
        actor=user,
        expected_version=body.version,
        max_body=_max_body(),
        summary=body.summary,
    )
    return _policy_out(service.get_policy(policy.id))


@operation(
    "/policies/<int:policy_id>/transitions",
    "POST",
    summary="Move a policy to another status",
    tag=TAG,
    body=TransitionIn,
    responses={200: PolicyOut},
    refusals={
        403: "Or the caller's roles do not allow this move, or they submitted the change or "
        "wrote part of it and may not approve it (four-eyes).",
        409: "`version` is stale: the policy changed after you read it; or a workflow "
        "execution started by the move into the current status still has an approval or "
        "set-status step to come (every move but back to draft waits for it; the message "
        "names the execution).",
        422: "Also: a move the policy's status does not allow (the allowed targets are in "
        "`details`); a move that needs a `reason` without one.",
    },
)
def transition_policy(policy_id: int, body: TransitionIn):
    user = current_api_user()
    policy = service.get_visible_policy(policy_id, user)
    allowed = lifecycle.allowed_targets(policy.status)
    if body.status not in allowed:
        raise ApiError(
            422,
            f"A {policy.status_label.lower()} policy cannot become {body.status}.",
            details=[
                {
                    "field": "status",
                    "message": f"Allowed from {policy.status}: {', '.join(allowed) or 'none'}.",
                    "allowed": allowed,
                }
            ],
        )
    service.transition_policy(
        policy.id,
        body.status,
        actor=user,
        reason=body.reason,
        expected_version=body.version,
        change_kind=body.change_kind,
    )
    return _policy_out(service.get_policy(policy.id))
