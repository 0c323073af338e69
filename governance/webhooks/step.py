"""webhook: POST the step's data as JSON to a URL, signed the Standard Webhooks way.

At-least-once: a retry sends the same `webhook-id` (derived from the step run), so the
receiver can drop duplicates. Signed with the workflow's signing secret as it is when the
request is sent (both during a rotation's grace period: webhooks/signing_secret.py).
Loopback, private and other non-global destinations are refused at save time and again at
send time, unless WEBHOOK_ALLOWLIST names them.
"""

from __future__ import annotations

import json
import time

from flask import current_app

from governance.engine.models import Execution
from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.extensions import db
from governance.links import absolute_url
from governance.webhooks import outbound
from governance.webhooks.signing import standard_webhook_headers
from governance.webhooks.signing_secret import secrets_in_use


def _links(context: StepContext) -> dict[str, str]:
    """Absolute URLs of the execution and its policy, so a receiver can link back to them."""
    links = {"execution": absolute_url("executions.show", execution_id=context.execution_id)}
    if context.policy_id:
        links["policy"] = absolute_url("policies.show", policy_id=context.policy_id)
    return links


class Webhook(StepType):
    name = "webhook"
    label = "Outbound webhook"
    fields = (
        ConfigField(
            "url", "URL (https or http)", FieldKind.TEXT, hint="Must resolve to a public address."
        ),
        ConfigField("connect_timeout", "Connect timeout (s)", FieldKind.NUMBER, default="5"),
        ConfigField("read_timeout", "Read timeout (s)", FieldKind.NUMBER, default="10"),
    )

    def validate(self, config):
        errors = {}
        url = str(config.get("url") or "").strip()
        try:
            outbound.check_url(url, current_app.config["WEBHOOK_ALLOWLIST"])
        except outbound.UnsafeDestination as error:
            errors["url"] = str(error)
        try:
            connect_timeout = float(config.get("connect_timeout") or 5)
            read_timeout = float(config.get("read_timeout") or 10)
        except (TypeError, ValueError):
            connect_timeout = read_timeout = 0
        if not (0 < connect_timeout <= 30 and 0 < read_timeout <= 120):
            errors["read_timeout"] = "Timeouts: connect up to 30 s, read up to 120 s."
        cleaned = {
            "url": url,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        return cleaned, errors

    def describe(self, config):
        return f"POST to {config.get('url', '?')}"

    def run(self, context: StepContext) -> Outcome:
        config = context.config
        message_id = f"steward-step-run-{context.step_run_id}"
        payload = {
            "id": message_id,
            "execution_id": context.execution_id,
            "step": context.step_key,
            "policy": context.data.get("policy"),
            "trigger": context.data.get("trigger"),
            "steps": context.data.get("steps"),
            "links": _links(context),
        }
        body = json.dumps(payload, sort_keys=True, default=str).encode()
        if not context.live:
            # The keys a sent request's output has, so a dry run's later steps can read them.
            return Outcome.succeeded(
                status=None,
                elapsed_ms=None,
                id=message_id,
                url=config["url"],
                would_send_bytes=len(body),
            )
        workflow = db.session.get(Execution, context.execution_id).workflow
        headers = standard_webhook_headers(
            secrets_in_use(workflow), message_id, int(time.time()), body
        )
        headers["idempotency-key"] = message_id
        try:
            result = outbound.post_json(
                config["url"],
                body,
                headers,
                connect_timeout=config["connect_timeout"],
                read_timeout=config["read_timeout"],
                allowlist=current_app.config["WEBHOOK_ALLOWLIST"],
            )
        except outbound.UnsafeDestination as error:
            return Outcome.failed(str(error))
        verdict, retry_after = outbound.classify(result)
        output = {"status": result.status, "elapsed_ms": result.elapsed_ms, "id": message_id}
        if verdict == "succeeded":
            return Outcome.succeeded(**output)
        error = result.error or f"HTTP {result.status} from {config['url']}"
        if verdict == "retry":
            return Outcome("retry", output=output, error=error, retry_after=retry_after)
        return Outcome("failed", output=output, error=error)
