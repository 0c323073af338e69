"""wait: resume the execution after a duration."""

from __future__ import annotations

from datetime import datetime, timedelta

from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.timeutil import utcnow

MAX_WAIT_MINUTES = 60 * 24 * 365


class Wait(StepType):
    name = "wait"
    label = "Wait"
    fields = (ConfigField("minutes", "Wait for (minutes)", FieldKind.NUMBER, default="60"),)
    automated = False

    def validate(self, config):
        try:
            minutes = float(config.get("minutes") or 0)
        except (TypeError, ValueError):
            minutes = 0
        if not 0 < minutes <= MAX_WAIT_MINUTES:
            return {"minutes": minutes}, {"minutes": "Wait between 1 second and 365 days."}
        return {"minutes": minutes}, {}

    def describe(self, config):
        return f"Wait {config.get('minutes')} minute(s)"

    def run(self, context: StepContext) -> Outcome:
        resume_text = context.previous_output.get("resume_at")
        if resume_text:
            resume_at = datetime.fromisoformat(resume_text)
            if utcnow() >= resume_at:
                return Outcome.succeeded(resumed_at=utcnow().isoformat(), resume_at=resume_text)
            return Outcome("waiting", output={"resume_at": resume_text}, resume_at=resume_at)
        resume_at = utcnow() + timedelta(minutes=context.config["minutes"])
        return Outcome("waiting", output={"resume_at": resume_at.isoformat()}, resume_at=resume_at)
