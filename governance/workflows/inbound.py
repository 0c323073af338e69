"""The inbound webhook trigger: a signed request starts an execution of a webhook workflow.

Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`): the
timestamp must be within REPLAY_WINDOW of now and the id unused by this workflow, so a request
replayed within the window conflicts (409) instead of starting a second execution, and one
replayed later is too old. The older X-Steward-Signature signs the body only (replayable); it
is accepted only where the workflow's legacy switch is on.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine import start
from governance.engine.models import Workflow
from governance.errors import Conflict, DomainError, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies.models import Policy
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.webhooks.signing import verify_inbound_signature, verify_standard_webhook
from governance.workflows.hook_body import BodyRefused, parse_hook_body
from governance.workflows.models import InboundWebhookMessage

MAX_WEBHOOK_BODY = 64 * 1024
REPLAY_WINDOW = timedelta(minutes=5)
# Ids are 32-bit integer columns on PostgreSQL: a larger number is no row, never a query.
LARGEST_ROW_ID = 2**31 - 1
_MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, as message ids are
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class HeaderLookup(Protocol):
    """What the checks read of a request's headers: werkzeug's Headers (which matches names in
    any case) or, from a caller that already has them, a plain mapping."""

    def get(self, key: str, /) -> str | None: ...


class WebhookRefused(DomainError):
    pass


class Unauthenticated(WebhookRefused):
    status_code = 401


class TooLarge(WebhookRefused):
    status_code = 413


class UnknownPolicy(WebhookRefused):
    status_code = 422


def _webhook_workflow(workflow_id: int) -> Workflow:
    workflow = db.session.get(Workflow, workflow_id) if workflow_id <= LARGEST_ROW_ID else None
    if workflow is None or workflow.status != "active" or workflow.trigger_type != "webhook":
        raise NotFound("No active webhook workflow here.")
    return workflow


def _standard_message_id(workflow: Workflow, headers: HeaderLookup, body: bytes) -> str:
    """The verified message id of a Standard Webhooks request, or Unauthenticated."""
    message_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    if not _MESSAGE_ID.fullmatch(message_id):
        raise Unauthenticated("webhook-id must be 1 to 255 printable ASCII characters.")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthenticated("webhook-timestamp must be whole seconds since 1970 (UTC).")
    skew = abs(utcnow().timestamp() - int(timestamp))
    if skew > REPLAY_WINDOW.total_seconds():
        raise Unauthenticated(
            f"webhook-timestamp is {int(skew)} s away from Steward's clock; it must be within "
            f"{int(REPLAY_WINDOW.total_seconds() // 60)} minutes. Sign each request when you "
            "send it (and check the sender's clock)."
        )
    if not verify_standard_webhook(
        workflow.webhook_secret or "",
        message_id,
        int(timestamp),
        body,
        headers.get("webhook-signature"),
    ):
        raise Unauthenticated("webhook-signature does not match this workflow's secret.")
    return message_id


def _authenticate(workflow: Workflow, headers: HeaderLookup, body: bytes) -> str | None:
    """The message id to remember (None for a legacy request), or Unauthenticated."""
    if headers.get("webhook-signature"):
        return _standard_message_id(workflow, headers, body)
    legacy = headers.get("X-Steward-Signature")
    if legacy and not workflow.webhook_legacy_signature:
        raise Unauthenticated(
            "X-Steward-Signature is turned off for this workflow: sign with Standard Webhooks "
            "(webhook-id, webhook-timestamp, webhook-signature)."
        )
    if legacy and verify_inbound_signature(workflow.webhook_secret or "", body, legacy):
        return None
    if legacy:
        raise Unauthenticated("X-Steward-Signature does not match this workflow's secret.")
    raise Unauthenticated(
        "Sign the request: webhook-id, webhook-timestamp and webhook-signature headers "
        "(Standard Webhooks)."
    )


def _check_policy(policy_id: int | None) -> None:
    if policy_id is not None and (
        policy_id > LARGEST_ROW_ID or db.session.get(Policy, policy_id) is None
    ):
        raise UnknownPolicy("policy_id does not name an existing policy.", field="policy_id")


@unit_of_work()
def trigger_from_webhook(workflow_id: int, body: bytes, headers: HeaderLookup) -> int:
    """Start the workflow for a signed JSON body; returns the execution id.

    Checked in this order, and nothing is written unless all pass: the workflow, the size,
    the signature (and for Standard Webhooks the timestamp), the body, the policy, the id.
    """
    workflow = _webhook_workflow(workflow_id)
    if len(body) > MAX_WEBHOOK_BODY:
        raise TooLarge(f"The body is larger than {MAX_WEBHOOK_BODY // 1024} KB.")
    message_id = _authenticate(workflow, headers, body)
    try:
        payload, policy_id = parse_hook_body(body)
    except BodyRefused as error:
        raise WebhookRefused(error.message, field=error.field) from error
    _check_policy(policy_id)
    execution = start.start_execution(
        workflow, policy_id=policy_id, trigger_type="webhook", trigger_data=payload, actor_id=None
    )
    if message_id is not None:
        # In the execution's transaction: of two requests with one id, the second's insert
        # waits on the first's (the primary key) and fails once it commits, so one runs.
        db.session.add(
            InboundWebhookMessage(
                workflow_id=workflow.id, message_id=message_id, execution_id=execution.id
            )
        )
        try:
            db.session.flush()
        except IntegrityError as error:
            raise Conflict(
                f"webhook-id “{message_id}” was already received: this request is a replay, "
                "and started nothing."
            ) from error
    return execution.id


@unit_of_work()
def set_legacy_signature(workflow_id: int, *, enabled: bool, actor: User) -> None:
    """Turn the older X-Steward-Signature on or off for a webhook workflow."""
    workflow = get_or_raise(Workflow, workflow_id, "No such workflow.")
    db.session.execute(
        sa.update(Workflow)
        .where(Workflow.id == workflow.id)
        .values(webhook_legacy_signature=enabled, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    record_event(
        actor_id=actor.id,
        action="workflow.legacy_signature_" + ("enabled" if enabled else "disabled"),
        object_type="workflow",
        object_id=workflow.id,
        summary=f"{'Allowed' if enabled else 'Refused'} X-Steward-Signature for “{workflow.name}”",
    )


@unit_of_work()
def forget_old_messages(now=None) -> int:
    """Delete message ids whose timestamp can no longer pass the window (housekeeping).

    An accepted timestamp is at most REPLAY_WINDOW after its arrival (a sender's clock ahead),
    so two windows after arrival it is more than a window old: a replay of it is refused as
    too old without the id."""
    cutoff = (now or utcnow()) - 2 * REPLAY_WINDOW
    result = db.session.execute(
        sa.delete(InboundWebhookMessage).where(InboundWebhookMessage.received_at < cutoff)
    )
    return rowcount(result)
