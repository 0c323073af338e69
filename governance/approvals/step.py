"""approval: ask users and/or groups to approve; the execution waits for their decisions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.approvals import reminders
from governance.approvals.models import ApprovalRequest
from governance.auth.models import Group, User
from governance.engine.models import StepRun
from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.extensions import db
from governance.parsing import id_or_none
from governance.timeutil import utcnow

RULES = {"any": "Any one approval", "all": "Every assignee approves", "quorum": "A quorum"}


def _ids(raw) -> list[int]:
    if isinstance(raw, str):
        raw = raw.split(",")
    return sorted({number for number in map(id_or_none, raw or []) if number is not None})


def _optional_id(raw) -> int | None:
    return id_or_none(str(raw or "").strip())


class Approval(StepType):
    name = "approval"
    label = "Approval"
    automated = False
    fields = (
        ConfigField("users", "Approvers (users)", FieldKind.USERS),
        ConfigField("groups", "Approver groups", FieldKind.GROUPS),
        ConfigField(
            "rule",
            "Rule",
            FieldKind.SELECT,
            tuple(RULES.items()),
            "Any: the first approval decides. All: every assignee. Quorum: N approvals.",
            default="any",
        ),
        ConfigField("quorum", "Quorum (approvals needed)", FieldKind.NUMBER, default="1"),
        ConfigField("due_hours", "Due in (hours, 0 = no deadline)", FieldKind.NUMBER, default="48"),
        ConfigField("escalate_user_id", "Escalate to (user)", FieldKind.USER),
        ConfigField("escalate_group_id", "Escalate to (group)", FieldKind.GROUP),
        ConfigField(
            "escalate_adds_approvers",
            "When overdue, add the escalation target as an approver",
            FieldKind.CHECKBOX,
            hint="Otherwise the escalation target is only notified.",
        ),
        ConfigField(
            "decide_by_count",
            "Decide by count (majority)",
            FieldKind.CHECKBOX,
            hint="A single rejection does not reject the step while enough approvals can "
            "still come; it is rejected once they cannot.",
        ),
        ConfigField(
            "continue_on_reject", "Continue the workflow after a rejection", FieldKind.CHECKBOX
        ),
        ConfigField(
            "distinct_from",
            "Distinct from the approvers of step",
            FieldKind.APPROVAL_STEP,
            hint="The key of another approval step of this workflow: whoever decides one of the "
            "two steps in an execution cannot decide the other. Empty: no such tie.",
        ),
    )

    def validate(self, config):
        errors = {}
        users, groups = _ids(config.get("users")), _ids(config.get("groups"))
        if not users and not groups:
            errors["users"] = "An approval needs at least one assignee (a user or a group)."
        active_users = db.session.scalars(
            sa.select(User.id).where(User.id.in_(users), User.is_enabled.is_(True))
        ).all()
        if len(active_users) != len(users):
            errors["users"] = "One of the chosen approvers does not exist or is deactivated."
        if len(db.session.scalars(sa.select(Group.id).where(Group.id.in_(groups))).all()) != len(
            groups
        ):
            errors["groups"] = "One of the chosen groups does not exist."
        rule = str(config.get("rule") or "any")
        if rule not in RULES:
            errors["rule"] = "Choose any, all or quorum."
        try:
            quorum = int(config.get("quorum") or 1)
        except (TypeError, ValueError):
            quorum = 0
        slots = len(users) + len(groups)
        if rule == "quorum" and not 1 <= quorum <= max(slots, 1):
            errors["quorum"] = f"The quorum must be between 1 and the {slots} assignee(s)."
        try:
            due_hours = float(config.get("due_hours") or 0)
        except (TypeError, ValueError):
            due_hours = -1
        if not 0 <= due_hours <= 24 * 365:
            errors["due_hours"] = "Due within 0 (no deadline) to 8760 hours."
        escalate_user = _optional_id(config.get("escalate_user_id"))
        escalate_group = _optional_id(config.get("escalate_group_id"))
        if escalate_user and db.session.get(User, escalate_user) is None:
            errors["escalate_user_id"] = "The escalation user does not exist."
        if escalate_group and db.session.get(Group, escalate_group) is None:
            errors["escalate_group_id"] = "The escalation group does not exist."
        cleaned = {
            "users": users,
            "groups": groups,
            "rule": rule,
            "quorum": quorum,
            "due_hours": due_hours,
            "escalate_user_id": escalate_user,
            "escalate_group_id": escalate_group,
            "escalate_adds_approvers": bool(config.get("escalate_adds_approvers")),
            "decide_by_count": bool(config.get("decide_by_count")),
            "continue_on_reject": bool(config.get("continue_on_reject")),
            # Checked against the other steps by the definition's validator.
            "distinct_from": str(config.get("distinct_from") or "").strip(),
        }
        return cleaned, errors

    def describe(self, config):
        count = len(config.get("users", [])) + len(config.get("groups", []))
        text = f"Approval by {count} assignee(s), {RULES.get(config.get('rule'), '?').lower()}"
        if config.get("distinct_from"):
            text += f"; approvers distinct from step “{config['distinct_from']}”"
        return text

    def run(self, context: StepContext) -> Outcome:
        config = context.config
        due_at = utcnow() + timedelta(hours=config["due_hours"]) if config["due_hours"] else None
        assignees = [("user", user_id) for user_id in config["users"]] + [
            ("group", group_id) for group_id in config["groups"]
        ]
        if context.live:
            already = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ApprovalRequest)
                .where(ApprovalRequest.step_run_id == context.step_run_id)
            )
            # A re-run after a lost lease must not ask twice.
            if not already:
                requests = [
                    ApprovalRequest(
                        step_run_id=context.step_run_id,
                        execution_id=context.execution_id,
                        assignee_user_id=assignee_id if kind == "user" else None,
                        assignee_group_id=assignee_id if kind == "group" else None,
                        due_at=due_at,
                    )
                    for kind, assignee_id in assignees
                ]
                db.session.add_all(requests)
                db.session.flush()
                reminders.announce(db.session.get(StepRun, context.step_run_id), requests)
        output = {
            "rule": config["rule"],
            "requests": len(assignees),
            "due_at": due_at.isoformat() if due_at else None,
        }
        return Outcome("waiting", output=output)
