"""set_status: move the policy to a status through the policy service (same transition rules)."""

from __future__ import annotations

from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.errors import DomainError
from governance.policies import lifecycle
from governance.policies import service as policies


class SetStatus(StepType):
    name = "set_status"
    label = "Set policy status"
    fields = (
        ConfigField(
            "status", "Move the policy to", FieldKind.SELECT, tuple(lifecycle.STATUS_LABELS.items())
        ),
    )

    def validate(self, config):
        status = str(config.get("status") or "")
        if status not in lifecycle.STATUSES:
            return {"status": status}, {"status": "Choose the status to move the policy to."}
        return {"status": status}, {}

    def describe(self, config):
        return f"Set status to {lifecycle.STATUS_LABELS.get(config.get('status'), '?').lower()}"

    def run(self, context: StepContext) -> Outcome:
        if context.policy_id is None:
            return Outcome.failed("This execution has no policy to change.")
        target = context.config["status"]
        policy = policies.get_policy(context.policy_id)
        old_status = policy.status
        if old_status == target:
            return Outcome.succeeded(status=target, changed=False)
        if not context.live:
            return Outcome.succeeded(status=target, changed=True, previous=old_status)
        try:
            policies.apply_workflow_transition(policy.id, target, execution_id=context.execution_id)
        except DomainError as error:
            # The transition table refused: retrying cannot help.
            return Outcome.failed(error.message)
        return Outcome.succeeded(status=target, changed=True, previous=old_status)
