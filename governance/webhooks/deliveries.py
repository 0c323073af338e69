"""The delivery log of outbound webhook steps: reading a step run's deliveries for the
execution page, an admin's redelivery (audited), and pruning it on the job retention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.audit.service import record_event
from governance.auth.models import User
from governance.engine.lifecycle import FINISHED_STEP_STATUSES
from governance.engine.models import Execution, StepRun
from governance.errors import DomainError
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.unit_of_work import unit_of_work
from governance.webhooks.delivery import send_request
from governance.webhooks.models import WebhookDelivery

STEP_TYPE = "webhook"


def deliveries_by_step_run(step_run_ids: Iterable[int]) -> dict[int, list[WebhookDelivery]]:
    """Each step run's deliveries, oldest first, in one query."""
    ids = list(step_run_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.step_run_id.in_(ids))
        .options(so.joinedload(WebhookDelivery.redelivered_by).load_only(User.id, User.name))
        .order_by(WebhookDelivery.step_run_id, WebhookDelivery.id)
    )
    grouped: dict[int, list[WebhookDelivery]] = {}
    for row in rows:
        grouped.setdefault(row.step_run_id, []).append(row)
    return grouped


def redelivery_refusal(step_run: StepRun, latest: WebhookDelivery | None) -> str | None:
    """Why this step run cannot be redelivered now, or None."""
    if step_run.step_type != STEP_TYPE:
        return "Only a webhook step can be redelivered."
    if latest is None:
        return "This step has sent no request yet: there is nothing to redeliver."
    if step_run.status not in FINISHED_STEP_STATUSES:
        return "The step is still delivering; redeliver once it has finished."
    return None


@unit_of_work()
def redeliver(step_run_id: int, *, actor: User) -> WebhookDelivery:
    """Send the step run's last request again now: the same body, webhook-id and idempotency
    key, signed afresh. Outside the step's retries: the step's outcome does not change; the
    request is logged and the redelivery is in the audit trail."""
    step_run = get_or_raise(StepRun, step_run_id, "No such step.")
    latest = db.session.scalar(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.step_run_id == step_run.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
    )
    refusal = redelivery_refusal(step_run, latest)
    if refusal or latest is None:
        raise DomainError(refusal or "Nothing to redeliver.")
    execution = db.session.get_one(Execution, step_run.execution_id)
    config = execution.version.find_step(step_run.step_key)["config"]
    sent = send_request(
        config,
        latest.request_body,
        step_run_id=step_run.id,
        workflow=execution.workflow,
        attempt=None,
        redelivered_by_id=actor.id,
    )
    db.session.add(sent.record)
    db.session.flush()
    answer = sent.error or f"HTTP {sent.result.status}"
    record_event(
        actor_id=actor.id,
        action="webhook.redelivered",
        object_type="execution",
        object_id=execution.id,
        summary=f"Redelivered the webhook of step “{step_run.step_key}”: {answer}",
        changes={
            "step_run_id": step_run.id,
            "delivery_id": sent.record.id,
            "status": sent.result.status,
            "outcome": sent.verdict,
        },
    )
    return sent.record


def prune_condition(cutoff: datetime):
    """The rows past the retention (the queues' housekeeping deletes them in batches)."""
    return WebhookDelivery.created_at < cutoff
