"""Sending one webhook request as a step configures it, signed and with its idempotency key,
and the delivery log row that records it: used by each attempt of a step and by an admin's
redelivery alike, so both send and record the same way."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app

from governance.webhooks import outbound
from governance.webhooks.headers import logged_headers, request_headers
from governance.webhooks.models import LOGGED_BODY_BYTES, WebhookDelivery
from governance.webhooks.signing import standard_webhook_headers
from governance.webhooks.signing_secret import HasSigningSecrets, secrets_in_use
from governance.webhooks.status_codes import BadStatusCodes, parse_status_codes

# How much of a response becomes the step's output: parsed JSON up to what is read of it
# (MAX_RESPONSE_BYTES), else the text's first 4 KB.
MAX_RESPONSE_BYTES = 65536
RESPONSE_TEXT_BYTES = 4096


@dataclass(frozen=True)
class Sent:
    """What one request came to: the answer, its verdict, and the row that logs it."""

    result: outbound.DeliveryResult
    verdict: outbound.Outcome
    retry_after: float | None
    error: str | None
    record: WebhookDelivery


def message_id(step_run_id: int) -> str:
    """The `webhook-id` and idempotency key of every request of a step run, redeliveries
    included, so receivers drop duplicates."""
    return f"steward-step-run-{step_run_id}"


def send_request(
    config: dict[str, Any],
    body: str,
    *,
    step_run_id: int,
    workflow: HasSigningSecrets,
    attempt: int | None,
    redelivered_by_id: int | None = None,
) -> Sent:
    """Send the step's request once, signed now, and build (not add) its log row."""
    method = config.get("method") or "POST"
    url = config["url"]
    rows = config.get("headers") or []
    identifier = message_id(step_run_id)
    payload = body.encode()
    headers = standard_webhook_headers(
        secrets_in_use(workflow), identifier, int(time.time()), payload
    )
    if not payload:
        headers.pop("content-type", None)
    headers.update({name.lower(): value for name, value in request_headers(rows).items()})
    headers["idempotency-key"] = identifier
    try:
        result = outbound.send(
            method,
            url,
            payload,
            headers,
            connect_timeout=float(config.get("connect_timeout") or 5),
            read_timeout=float(config.get("read_timeout") or 10),
            allowlist=current_app.config["WEBHOOK_ALLOWLIST"],
            max_response_bytes=MAX_RESPONSE_BYTES,
        )
    except outbound.UnsafeDestination as refused:
        result = outbound.DeliveryResult(status=None, error=str(refused))
        verdict: outbound.Outcome = "failed"
        retry_after = None
    else:
        verdict, retry_after = outbound.classify(result, expected=expected_codes(config))
    error = result.error
    if error is None and verdict != "succeeded":
        error = f"HTTP {result.status} from {url}"
    record = WebhookDelivery(
        step_run_id=step_run_id,
        attempt=attempt,
        is_redelivery=redelivered_by_id is not None,
        redelivered_by_id=redelivered_by_id,
        method=method,
        url=url,
        request_headers=logged_headers(headers, rows),
        request_body=body,
        response_status=result.status,
        response_headers=dict(result.headers),
        response_body=result.body[:LOGGED_BODY_BYTES].decode("utf-8", errors="replace"),
        duration_ms=result.elapsed_ms,
        error=error,
        outcome=verdict,
    )
    return Sent(result, verdict, retry_after, error, record)


def expected_codes(config: dict[str, Any]):
    """The codes that count as delivered; versions saved before the setting accept any 2xx."""
    try:
        return parse_status_codes(str(config.get("expected_status") or ""))
    except BadStatusCodes:
        return parse_status_codes("")


def response_value(result: outbound.DeliveryResult) -> Any:
    """The answer as later steps read it: parsed JSON when the receiver says it is JSON and it
    parses, else its text (first 4 KB); None for an empty answer."""
    if not result.body:
        return None
    media_type = result.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(result.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            pass  # cut at MAX_RESPONSE_BYTES, or not JSON after all: its text instead
    return result.body[:RESPONSE_TEXT_BYTES].decode("utf-8", errors="replace")
