"""Policy exception rules: who may request and revoke one, the approval workflow that decides
it, its expiry, and the lists. Each change lands in one transaction with its audit event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine import advance, start
from governance.engine.events import ExecutionFinished
from governance.engine.lifecycle import ExecutionStatus
from governance.errors import DomainError, NotAllowed, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.notifications.service import notify
from governance.policies.events import PolicyStatusChanged
from governance.policies.lifecycle import RETIRED
from governance.policies.models import Policy
from governance.policies.service import can_manage
from governance.policies.visibility import READ_ALL_ROLES
from governance.policy_exceptions import visibility
from governance.policy_exceptions.models import (
    APPROVAL_TRIGGER,
    EXCEPTION_STATUSES,
    STATUS_LABELS,
    PolicyException,
)
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

TRIGGER = APPROVAL_TRIGGER
OPEN_STATUSES = ("pending", "active")
READ_ROLES = READ_ALL_ROLES  # who reads exceptions: policy_exceptions.visibility's rule
SCOPE_MAX = 200
JUSTIFICATION_MAX = 5000
REASON_MAX = 500
# The list filter: each status, "open" (pending and active, the default) and "all".
STATUS_FILTERS = {
    "open": "Open (active and pending)",
    **STATUS_LABELS,
    "all": "All",
}
NO_WORKFLOW = (
    "No active workflow approves exceptions: an administrator must activate one with the "
    "trigger “Exception requested”."
)
# How the approval workflow's outcome settles a pending exception.
OUTCOMES = {
    "succeeded": "active",
    "rejected": "rejected",
    "failed": "rejected",
    "cancelled": "rejected",
}


@dataclass
class ExceptionInput:
    scope: str
    justification: str
    expires_on: date | None


# ---------------------------------------------------------------- permissions


def can_list(user: User) -> bool:
    return visibility.can_read_exceptions(user)


def can_request(user: User, policy: Policy) -> bool:
    """Exceptions are to a version in force: the policy needs a live published version."""
    return policy.has_live_version and can_manage(user, policy)


def can_revoke(user: User, exception: PolicyException) -> bool:
    return exception.status in OPEN_STATUSES and can_manage(user, exception.policy)


def check_can_request(user: User, policy: Policy) -> None:
    if not can_manage(user, policy):
        raise NotAllowed("Only the policy's owner or an admin can request an exception to it.")
    if not policy.has_live_version:
        raise DomainError(
            "Only a policy with a published version in force can have exceptions; publish it first."
        )


# ---------------------------------------------------------------- reading


def get_exception(exception_id: int) -> PolicyException:
    return get_or_raise(PolicyException, exception_id, "No such exception.")


def get_readable_exception(exception_id: int, user: User) -> PolicyException:
    """The exception if this user may read it; otherwise 404, as if there were none."""
    exception = db.session.get(PolicyException, exception_id)
    if exception is None or not visibility.can_read_exception(user, exception):
        raise NotFound("No such exception.")
    return exception


def open_exceptions(policy_id: int) -> list[PolicyException]:
    """A policy's active and pending exceptions, the soonest to expire first."""
    return list(
        db.session.scalars(
            sa.select(PolicyException)
            .where(
                PolicyException.policy_id == policy_id,
                PolicyException.status.in_(OPEN_STATUSES),
            )
            .order_by(PolicyException.expires_on, PolicyException.id)
        )
    )


def list_statement(status: str, *, policy_id: int | None = None) -> sa.Select:
    """Exceptions of one status filter (see STATUS_FILTERS), optionally of one policy; open
    ones soonest-expiring first, the others newest first."""
    statement = sa.select(PolicyException)
    if policy_id is not None:
        statement = statement.where(PolicyException.policy_id == policy_id)
    if status == "open":
        return statement.where(PolicyException.status.in_(OPEN_STATUSES)).order_by(
            PolicyException.expires_on, PolicyException.id
        )
    if status in EXCEPTION_STATUSES:
        statement = statement.where(PolicyException.status == status)
    if status in OPEN_STATUSES:
        return statement.order_by(PolicyException.expires_on, PolicyException.id)
    return statement.order_by(PolicyException.created_at.desc(), PolicyException.id.desc())


def history(exception_id: int) -> list[AuditEvent]:
    """The exception's audit events, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.object_type == "policy_exception",
                AuditEvent.object_id == exception_id,
            )
            .order_by(AuditEvent.seq)
        )
    )


def days_left(exception: PolicyException, today: date | None = None) -> int:
    """Whole days until the exception stops covering (it covers its expiry date itself)."""
    return (exception.expires_on - (today or utcnow().date())).days


# ---------------------------------------------------------------- requesting


def _validated(data: ExceptionInput, *, today: date, max_days: int) -> ExceptionInput:
    scope = " ".join((data.scope or "").split())
    if not scope:
        raise DomainError("Say who or what the exception covers.", field="scope")
    if len(scope) > SCOPE_MAX:
        raise DomainError(
            f"The scope must be at most {SCOPE_MAX} characters ({len(scope)} given).",
            field="scope",
        )
    justification = (data.justification or "").replace("\r\n", "\n").strip()
    if not justification:
        raise DomainError("Explain why the exception is needed.", field="justification")
    if len(justification) > JUSTIFICATION_MAX:
        raise DomainError(
            f"The justification must be at most {JUSTIFICATION_MAX:,} characters "
            f"({len(justification):,} given).",
            field="justification",
        )
    if data.expires_on is None:
        raise DomainError("Choose the date the exception expires.", field="expires_on")
    if data.expires_on <= today:
        raise DomainError("The expiry date must be after today.", field="expires_on")
    latest = today + timedelta(days=max_days)
    if data.expires_on > latest:
        raise DomainError(
            f"An exception can last at most {max_days} days: choose {latest:%d %b %Y} or earlier.",
            field="expires_on",
        )
    return ExceptionInput(scope=scope, justification=justification, expires_on=data.expires_on)


@unit_of_work()
def request_exception(
    policy_id: int,
    data: ExceptionInput,
    *,
    actor: User,
    max_days: int,
    today: date | None = None,
) -> int:
    """Record a pending exception and start its approval workflow, in one transaction.

    Refused (nothing written) when no active workflow with the "Exception requested" trigger
    matches: an exception nobody can approve would stay pending for ever. Returns its id.
    """
    policy = get_or_raise(Policy, policy_id, "No such policy.")
    check_can_request(actor, policy)
    clean = _validated(data, today=today or utcnow().date(), max_days=max_days)
    assert clean.expires_on is not None  # _validated refuses an exception without one
    exception = PolicyException(
        policy_id=policy.id,
        scope=clean.scope,
        justification=clean.justification,
        expires_on=clean.expires_on,
        status="pending",
        requested_by_id=actor.id,
    )
    db.session.add(exception)
    db.session.flush()
    started = start.start_matching(
        TRIGGER,
        {
            "policy_id": policy.id,
            "exception_id": exception.id,
            "actor_id": actor.id,
            "scope": clean.scope,
            "expires_on": clean.expires_on.isoformat(),
        },
    )
    if not started:
        raise DomainError(NO_WORKFLOW)
    # Several matching workflows all run; the first one's outcome decides the exception.
    exception.execution_id = started[0]
    record_event(
        actor_id=actor.id,
        action="exception.requested",
        object_type="policy_exception",
        object_id=exception.id,
        summary=f"{actor.name} requested an exception to “{policy.title}” for "
        f"“{clean.scope}” until {clean.expires_on.isoformat()}; approval: execution "
        f"{started[0]}",
        changes={
            "policy_id": policy.id,
            "scope": clean.scope,
            "expires_on": clean.expires_on.isoformat(),
            "execution_id": started[0],
        },
    )
    return exception.id


# ---------------------------------------------------------------- settling


def settle_on_execution_finished(event: ExecutionFinished) -> None:
    # Every execution of every workflow ends through here: return at once for the others.
    if event.trigger_type != TRIGGER:
        return
    settle_exception_in_transaction(event.execution_id, event.status)


def settle_exception_in_transaction(execution_id: int, execution_status: str) -> int | None:
    """Activate or reject the pending exception this execution decides (no commit).

    Conditional on the exception still pending, so a revoked one stays revoked and a second
    end of the same execution (retried after failing) changes nothing. Returns its id.
    """
    new_status = OUTCOMES.get(execution_status)
    if new_status is None:
        return None
    now = utcnow()
    exception_id = db.session.scalar(
        sa.update(PolicyException)
        .where(PolicyException.execution_id == execution_id, PolicyException.status == "pending")
        .values(status=new_status, decided_at=now)
        .returning(PolicyException.id)
        .execution_options(synchronize_session=False)
    )
    if exception_id is None:
        return None
    exception = db.session.get_one(PolicyException, exception_id, populate_existing=True)
    outcome = "approved" if new_status == "active" else f"{new_status} ({execution_status})"
    deciders = _deciders(execution_id)
    record_event(
        actor_id=None,
        action="exception.approved" if new_status == "active" else "exception.rejected",
        object_type="policy_exception",
        object_id=exception.id,
        summary=f"Exception {exception.id} to “{exception.policy.title}” for "
        f"“{exception.scope}” {outcome} by execution {execution_id}"
        + (f"; decided by {', '.join(deciders)}" if deciders else ""),
        changes={"status": {"before": "pending", "after": new_status}},
    )
    if new_status == "active":
        subject = f"Exception approved: “{exception.scope}” until {exception.expires_on:%d %b %Y}"
        body = f"Your exception to “{exception.policy.title}” is active until its expiry date."
    else:
        subject = f"Exception not approved: “{exception.scope}”"
        body = (
            f"Your exception to “{exception.policy.title}” was not approved "
            f"(the approval workflow ended {execution_status})."
        )
    notify(
        [exception.requested_by_id],
        subject=subject,
        body=body,
        link=f"/policy-exceptions/{exception.id}",
        dedupe_key=f"exception-{exception.id}-{new_status}",
    )
    return exception.id


def _deciders(execution_id: int) -> list[str]:
    """Who approved or rejected in this execution, for the exception's history."""
    names = db.session.scalars(
        sa.select(User.name)
        .join(ApprovalRequest, ApprovalRequest.decided_by_id == User.id)
        .where(
            ApprovalRequest.execution_id == execution_id,
            ApprovalRequest.status.in_(("approved", "rejected")),
        )
        .order_by(ApprovalRequest.decided_at, ApprovalRequest.id)
    )
    return list(dict.fromkeys(names))


# ---------------------------------------------------------------- ending


@unit_of_work()
def revoke_exception(exception_id: int, *, actor: User, reason: str) -> None:
    """End an active or pending exception early; a pending one's approval is cancelled."""
    exception = get_exception(exception_id)
    if not can_manage(actor, exception.policy):
        raise NotAllowed("Only the policy's owner or an admin can revoke its exceptions.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("Give a reason to revoke the exception.", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"The reason must be at most {REASON_MAX} characters.", field="reason")
    if exception.status not in OPEN_STATUSES:
        raise DomainError(f"This exception has already ended ({exception.status}).")
    if not _revoke_in_transaction(exception, reason=reason, actor=actor):
        raise DomainError("This exception changed meanwhile; reload the page and try again.")


def revoke_on_policy_retired(event: PolicyStatusChanged) -> None:
    if event.new_status == RETIRED:
        revoke_exceptions_of_retired_policy_in_transaction(event.policy_id, actor_id=event.actor_id)


def revoke_exceptions_of_retired_policy_in_transaction(
    policy_id: int, *, actor_id: int | None
) -> list[int]:
    """A retired policy has nothing left to depart from: its open exceptions end with it, in
    the transaction that retires it (no commit). Returns the ids revoked."""
    actor = db.session.get(User, actor_id) if actor_id else None
    return [
        exception.id
        for exception in open_exceptions(policy_id)
        if _revoke_in_transaction(exception, reason="The policy was retired.", actor=actor)
    ]


def _revoke_in_transaction(exception: PolicyException, *, reason: str, actor: User | None) -> bool:
    """Revoke an open exception with its audit event and notification (no commit). False
    when it changed meanwhile (the conditional UPDATE matched nothing)."""
    previous = exception.status
    revoked = db.session.execute(
        sa.update(PolicyException)
        .where(PolicyException.id == exception.id, PolicyException.status == previous)
        .values(status="revoked", ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if rowcount(revoked) != 1:
        return False
    if previous == "pending" and exception.execution_id is not None:
        # Approvers are no longer asked about an exception that was withdrawn.
        advance.fail_execution(
            exception.execution_id,
            f"The exception was revoked: {reason}",
            status=ExecutionStatus.CANCELLED,
        )
    who = actor.name if actor else "Steward"
    record_event(
        actor_id=actor.id if actor else None,
        action="exception.revoked",
        object_type="policy_exception",
        object_id=exception.id,
        summary=f"{who} revoked exception {exception.id} ({previous}) to "
        f"“{exception.policy.title}” for “{exception.scope}”: {reason}",
        changes={"status": {"before": previous, "after": "revoked"}, "reason": reason},
    )
    if actor is None or exception.requested_by_id != actor.id:
        notify(
            [exception.requested_by_id],
            subject=f"Exception revoked: “{exception.scope}”",
            body=f"{who} revoked your exception to “{exception.policy.title}”: {reason}",
            link=f"/policy-exceptions/{exception.id}",
            dedupe_key=f"exception-{exception.id}-revoked",
        )
    return True


def expire_exceptions(today: date | None = None) -> list[int]:
    """Expire active exceptions whose expiry date has passed; returns the ids expired now.

    An exception covers its expiry date and ends the day after. Each expiry is a conditional
    UPDATE (still active) committed with its audit event and notifications, so a second run,
    or two schedulers at once, expire and notify each exception once.
    """
    today = today or utcnow().date()
    due = db.session.scalars(
        sa.select(PolicyException.id)
        .where(PolicyException.status == "active", PolicyException.expires_on < today)
        .order_by(PolicyException.id)
    ).all()
    expired = []
    for exception_id in due:
        with unit_of_work():
            changed = db.session.execute(
                sa.update(PolicyException)
                .where(PolicyException.id == exception_id, PolicyException.status == "active")
                .values(status="expired", ended_at=utcnow(), end_reason="Reached its expiry date.")
                .execution_options(synchronize_session=False)
            )
            if rowcount(changed) != 1:
                continue  # another run expired it first
            exception = db.session.get_one(PolicyException, exception_id, populate_existing=True)
            policy = exception.policy
            record_event(
                actor_id=None,
                action="exception.expired",
                object_type="policy_exception",
                object_id=exception.id,
                summary=f"Exception {exception.id} to “{policy.title}” for “{exception.scope}” "
                f"expired (valid until {exception.expires_on.isoformat()})",
                changes={"status": {"before": "active", "after": "expired"}},
            )
            notify(
                [exception.requested_by_id, policy.owner_id],
                subject=f"Exception expired: “{exception.scope}”",
                body=f"The exception to “{policy.title}” for “{exception.scope}” expired after "
                f"{exception.expires_on:%d %b %Y}; the policy applies in full again.",
                link=f"/policy-exceptions/{exception.id}",
                dedupe_key=f"exception-{exception.id}-expired",
            )
        expired.append(exception_id)
    return expired
