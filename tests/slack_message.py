"""slack_message: post a message to a Slack incoming webhook. The worked example of a step type
as a plugin: this one module is all it takes (test_step_type_plugin.py registers it)."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app

from governance.engine import templating
from governance.engine.steps import (
    ConfigField,
    FieldKind,
    Outcome,
    StepContext,
    StepType,
    register_step_type,
)
from governance.webhooks import outbound


class SlackMessage(StepType):
    name = "slack_message"
    label = "Slack message"
    fields = (
        # Slack's incoming webhook URL is the credential itself: whoever has it can post.
        ConfigField(
            "webhook_url",
            "Slack webhook URL",
            FieldKind.URL,
            hint="From the Slack app's Incoming Webhooks page.",
            secret=True,
        ),
        ConfigField(
            "text",
            "Message (template)",
            FieldKind.TEXTAREA,
            hint="e.g. {{ policy.title }} is {{ policy.status }}",
            template=True,
        ),
    )

    def validate(self, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        errors = {}
        url = str(config.get("webhook_url") or "").strip()
        try:
            outbound.check_url(url, current_app.config["WEBHOOK_ALLOWLIST"])
        except outbound.UnsafeDestination as error:
            errors["webhook_url"] = str(error)
        text = str(config.get("text") or "")
        if not text.strip():
            errors["text"] = "Write the message."
        try:
            templating.check_template(text)
        except templating.TemplateError as error:
            errors.setdefault("text", f"The template does not parse: {error}")
        return {"webhook_url": url, "text": text[:4000]}, errors

    def describe(self, config: dict[str, Any]) -> str:
        return "Post a message to Slack"

    def run(self, context: StepContext) -> Outcome:
        url = context.config["webhook_url"]
        text = templating.render(context.config["text"], context.data)
        if not context.live:
            return Outcome.succeeded(text=text, status=None)
        body = json.dumps({"text": text}).encode()
        key = f"steward-step-run-{context.step_run_id}"
        try:
            result = outbound.post_json(
                url,
                body,
                {"idempotency-key": key},
                allowlist=current_app.config["WEBHOOK_ALLOWLIST"],
            )
        except outbound.UnsafeDestination as error:
            return Outcome.failed(str(error))
        verdict, retry_after = outbound.classify(result)
        output = {"text": text, "status": result.status}
        if verdict == "succeeded":
            return Outcome.succeeded(**output)
        error = result.error or f"HTTP {result.status} from {url}"
        if verdict == "retry":
            return Outcome("retry", output=output, error=error, retry_after=retry_after)
        return Outcome("failed", output=output, error=error)


def register(app: Flask) -> None:
    """As a feature's register(app) would."""
    register_step_type(SlackMessage)
