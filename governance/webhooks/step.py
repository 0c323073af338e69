"""webhook: send the step's data as JSON to a URL, signed the Standard Webhooks way.

The method, extra headers (each value may be secret), the body (a JSON template, or Steward's
default payload) and the status codes that count as delivered are the step's config; a
version saved before those existed sends what it always did (POST, the default payload, any
2xx). The receiver's answer becomes the step's output (`response`), so later steps can read it.

At-least-once: a retry sends the same `webhook-id` (derived from the step run), so the
receiver can drop duplicates. Signed with the workflow's signing secret as it is when the
request is sent (both during a rotation's grace period: webhooks/signing_secret.py).
Loopback, private and other non-global destinations are refused at save time and again at
send time, unless WEBHOOK_ALLOWLIST names them. Every request is logged (webhooks/models.py).
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app

from governance.engine.models import Execution
from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.extensions import db
from governance.links import absolute_url
from governance.webhooks import outbound
from governance.webhooks.body import BodyNotJson, check_body_template, render_body
from governance.webhooks.delivery import message_id, response_value, send_request
from governance.webhooks.headers import clean_headers
from governance.webhooks.status_codes import DEFAULT, BadStatusCodes, parse_status_codes


def _links(context: StepContext) -> dict[str, str]:
    """Absolute URLs of the execution and its policy, so a receiver can link back to them."""
    links = {"execution": absolute_url("executions.show", execution_id=context.execution_id)}
    if context.policy_id:
        links["policy"] = absolute_url("policies.show", policy_id=context.policy_id)
    return links


def default_payload(context: StepContext) -> str:
    """What a step without a body template sends (what every webhook step sent before)."""
    payload = {
        "id": message_id(context.step_run_id),
        "execution_id": context.execution_id,
        "step": context.step_key,
        "policy": context.data.get("policy"),
        "trigger": context.data.get("trigger"),
        "steps": context.data.get("steps"),
        "links": _links(context),
    }
    return json.dumps(payload, sort_keys=True, default=str)


class Webhook(StepType):
    name = "webhook"
    label = "Outbound webhook"
    fields = (
        ConfigField(
            "url", "URL (https or http)", FieldKind.TEXT, hint="Must resolve to a public address."
        ),
        ConfigField(
            "method",
            "Method",
            FieldKind.SELECT,
            tuple((method, method) for method in outbound.METHODS),
            default="POST",
        ),
        ConfigField(
            "headers",
            "Headers",
            FieldKind.HEADERS,
            hint="Sent with every request. Mark a value secret (a token) to keep it hidden: it "
            "is never shown again, and a save that leaves it empty keeps it.",
        ),
        ConfigField(
            "body",
            "Body (JSON template)",
            FieldKind.TEXTAREA,
            hint="JSON, with {{ … }} names; outside quotes write {{ value | tojson }}. Empty: "
            "Steward's payload (id, policy, trigger, steps, links). A GET sends no body.",
            template=True,
        ),
        ConfigField(
            "expected_status",
            "Expected status codes",
            FieldKind.TEXT,
            hint="e.g. 200-299 or 200, 201, 204. Others fail the step (429 and 5xx are retried).",
            default=DEFAULT,
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
        method = str(config.get("method") or "POST").strip().upper()
        if method not in outbound.METHODS:
            errors["method"] = f"Choose one of {', '.join(outbound.METHODS)}."
        headers, problem = clean_headers(config.get("headers"))
        if problem:
            errors["headers"] = problem
        body = str(config.get("body") or "")
        if body.strip() and method == "GET":
            errors["body"] = "A GET request sends no body: empty the body or choose another method."
        elif problem := check_body_template(body):
            errors["body"] = problem
        expected = str(config.get("expected_status") or "").strip()
        try:
            expected = str(parse_status_codes(expected))
        except BadStatusCodes as error:
            errors["expected_status"] = str(error)
        try:
            connect_timeout = float(config.get("connect_timeout") or 5)
            read_timeout = float(config.get("read_timeout") or 10)
        except (TypeError, ValueError):
            connect_timeout = read_timeout = 0
        if not (0 < connect_timeout <= 30 and 0 < read_timeout <= 120):
            errors["read_timeout"] = "Timeouts: connect up to 30 s, read up to 120 s."
        cleaned = {
            "url": url,
            "method": method,
            "headers": headers,
            "body": body if body.strip() else "",
            "expected_status": expected,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        return cleaned, errors

    def describe(self, config):
        return f"{config.get('method') or 'POST'} to {config.get('url', '?')}"

    def _body(self, context: StepContext) -> str:
        config = context.config
        if (config.get("method") or "POST") == "GET":
            return ""
        if config.get("body"):
            return render_body(config["body"], context.data)
        return default_payload(context)

    def run(self, context: StepContext) -> Outcome:
        config = context.config
        identifier = message_id(context.step_run_id)
        try:
            body = self._body(context)
        except BodyNotJson as error:
            return Outcome.failed(str(error))  # the same data renders the same body again
        if not context.live:
            # The keys a sent request's output has, so a dry run's later steps can read them;
            # what the receiver answers is not known before it is asked.
            return Outcome.succeeded(
                status=None,
                elapsed_ms=None,
                id=identifier,
                response=None,
                method=config.get("method") or "POST",
                url=config["url"],
                would_send_bytes=len(body.encode()),
            )
        workflow = db.session.get_one(Execution, context.execution_id).workflow
        sent = send_request(
            config,
            body,
            step_run_id=context.step_run_id,
            workflow=workflow,
            attempt=context.attempt,
        )
        result = sent.result
        output: dict[str, Any] = {
            "status": result.status,
            "elapsed_ms": result.elapsed_ms,
            "id": identifier,
            "response": response_value(result),
        }
        records: list[object] = [sent.record]
        if sent.verdict == "succeeded":
            return Outcome("succeeded", output=output, records=records)
        status = "retry" if sent.verdict == "retry" else "failed"
        return Outcome(
            status, output=output, error=sent.error, retry_after=sent.retry_after, records=records
        )
