"""The policy step types: set_status moves the policy to a status through the policy service
(same transition rules); assign sets the policy's owner or reviewer."""

from __future__ import annotations

from governance.auth.models import User
from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.errors import DomainError
from governance.extensions import db
from governance.parsing import id_or_none
from governance.policies import lifecycle
from governance.policies import service as policies

ROLES = {"owner": "Owner", "reviewer": "Reviewer"}


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


class Assign(StepType):
    name = "assign"
    label = "Assign owner or reviewer"
    fields = (
        ConfigField("role", "Set the policy's", FieldKind.SELECT, tuple(ROLES.items())),
        ConfigField("user_id", "User", FieldKind.USER),
    )

    def validate(self, config):
        errors = {}
        role = str(config.get("role") or "")
        if role not in ROLES:
            errors["role"] = "Choose whether to set the owner or the reviewer."
        user_id = id_or_none(config.get("user_id")) or 0
        user = db.session.get(User, user_id) if user_id else None
        if user is None or not user.is_enabled:
            errors["user_id"] = "Choose an active user."
        elif role == "owner" and not user.has_role("owner", "admin"):
            errors["user_id"] = "An owner must hold the owner or admin role."
        return {"role": role, "user_id": user_id}, errors

    def describe(self, config):
        user = db.session.get(User, config.get("user_id") or 0)
        return f"Make {user.name if user else '?'} the {config.get('role', '?')}"

    def run(self, context: StepContext) -> Outcome:
        if context.policy_id is None:
            return Outcome.failed("This execution has no policy to assign.")
        role, user_id = context.config["role"], context.config["user_id"]
        if context.live:
            try:
                policies.assign_by_workflow(
                    context.policy_id, role, user_id, execution_id=context.execution_id
                )
            except DomainError as error:
                return Outcome.failed(error.message)
        return Outcome.succeeded(role=role, user_id=user_id)
