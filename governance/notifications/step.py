"""notify: an in-app notification (and an email) to users, groups or the policy owner."""

from __future__ import annotations

import sqlalchemy as sa

from governance.auth.models import Group, User
from governance.auth.service import enabled_user_ids
from governance.engine import templating
from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.extensions import db
from governance.notifications import service as notifications
from governance.parsing import id_or_none


def _ids(raw) -> list[int]:
    if isinstance(raw, str):
        raw = raw.split(",")
    return sorted({number for number in map(id_or_none, raw or []) if number is not None})


class Notify(StepType):
    name = "notify"
    label = "Notify"
    fields = (
        ConfigField("users", "Users", FieldKind.USERS),
        ConfigField("groups", "Groups", FieldKind.GROUPS),
        ConfigField("to_owner", "The policy owner", FieldKind.CHECKBOX),
        ConfigField(
            "subject",
            "Subject (template)",
            FieldKind.TEXT,
            hint="e.g. {{ policy.title }} was published",
            template=True,
        ),
        ConfigField(
            "body",
            "Body (template)",
            FieldKind.TEXTAREA,
            hint="Jinja over policy, trigger and steps.<key>.output, e.g. {{ trigger.new_status }}",
            template=True,
        ),
    )

    def validate(self, config):
        errors = {}
        users, groups = _ids(config.get("users")), _ids(config.get("groups"))
        to_owner = bool(config.get("to_owner"))
        known_users = db.session.scalars(sa.select(User.id).where(User.id.in_(users))).all()
        known_groups = db.session.scalars(sa.select(Group.id).where(Group.id.in_(groups))).all()
        if len(known_users) != len(users):
            errors["users"] = "One of the chosen users does not exist."
        if len(known_groups) != len(groups):
            errors["groups"] = "One of the chosen groups does not exist."
        if not (users or groups or to_owner):
            errors["users"] = "Choose who to notify: users, groups or the policy owner."
        subject = str(config.get("subject") or "").strip()
        body = str(config.get("body") or "")
        if not subject:
            errors["subject"] = "Give the notification a subject."
        for name, source in (("subject", subject), ("body", body)):
            try:
                templating.check_template(source)
            except templating.TemplateError as error:
                errors.setdefault(name, f"The template does not parse: {error}")
        config = {
            "users": users,
            "groups": groups,
            "to_owner": to_owner,
            "subject": subject[:200],
            "body": body[:5000],
        }
        return config, errors

    def describe(self, config):
        return f"Notify: {config.get('subject', '')}"

    def recipients(self, context: StepContext) -> list[int]:
        config = context.config
        user_ids = list(config["users"])
        owner_id = (context.data.get("policy") or {}).get("owner_id")
        if config["to_owner"] and owner_id:
            user_ids.append(owner_id)
        return enabled_user_ids(user_ids, config["groups"])

    def run(self, context: StepContext) -> Outcome:
        subject = templating.render(context.config["subject"], context.data)[:200]
        body = templating.render(context.config["body"], context.data)
        recipients = self.recipients(context)
        if context.live:
            notifications.notify_users(
                recipients,
                subject=subject,
                body=body,
                link=f"/policies/{context.policy_id}" if context.policy_id else None,
                step_run_id=context.step_run_id,
            )
        return Outcome.succeeded(subject=subject, body=body, recipients=recipients)
