"""create_task: a task with a title, an assignee (a user, a group or the policy owner) and a
due date, for a person to do; optionally the step waits until the task is done."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.auth.models import Group, User
from governance.engine import templating
from governance.engine.steps import ConfigField, FieldKind, Outcome, StepContext, StepType
from governance.extensions import db
from governance.parsing import id_or_none
from governance.tasks.models import Task
from governance.timeutil import utcnow


def _optional_id(raw) -> int | None:
    return id_or_none(str(raw or "").strip())


class CreateTask(StepType):
    name = "create_task"
    label = "Create a task"
    # The designer renders fields generically: the existing "assignee" choice (the policy
    # owner or one user) plus a separate "group" field, rather than a new kind of input.
    fields = (
        ConfigField(
            "title",
            "Title (template)",
            FieldKind.TEXT,
            hint="e.g. Review {{ policy.title }}",
            template=True,
        ),
        ConfigField("assignee", "Assignee", FieldKind.ASSIGNEE),
        ConfigField(
            "assignee_group_id",
            "Or assign to a group",
            FieldKind.GROUP,
            hint="Any member of the group may do it. Leave the assignee on “The policy owner” "
            "when you choose a group.",
        ),
        ConfigField("due_days", "Due in (days, 0 = no due date)", FieldKind.NUMBER, default="7"),
        ConfigField(
            "wait_until_done",
            "Wait until the task is done",
            FieldKind.CHECKBOX,
            hint="The workflow pauses at this step until someone marks the task done.",
        ),
    )

    def validate(self, config):
        errors = {}
        title = str(config.get("title") or "").strip()
        if not title:
            errors["title"] = "Give the task a title."
        elif len(title) > 200:
            errors["title"] = "The title must be at most 200 characters."
        else:
            try:
                templating.check_template(title)
            except templating.TemplateError as error:
                errors["title"] = f"The title template does not parse: {error}"
        assignee = str(config.get("assignee") or "").strip()
        raw_group = str(config.get("assignee_group_id") or "").strip()
        group_id = _optional_id(raw_group)
        if raw_group and (group_id is None or db.session.get(Group, group_id) is None):
            errors["assignee_group_id"] = "The chosen group does not exist; choose another one."
        if group_id is not None or assignee == "group":
            # The assignee select cannot be left empty, so "owner" beside a group means the
            # group; a named user beside a group is a contradiction the admin must resolve.
            if id_or_none(assignee) is not None:
                errors["assignee"] = (
                    "Choose either a user or a group, not both "
                    "(set the assignee back to “The policy owner” to assign the group)."
                )
            elif group_id is None and "assignee_group_id" not in errors:
                errors["assignee_group_id"] = "Choose the group the task is for."
            assignee = "group"
        elif assignee != "owner":
            user_id = _optional_id(assignee)
            user = db.session.get(User, user_id) if user_id is not None else None
            if user is None or not user.is_enabled:
                errors["assignee"] = "Choose an active user, the policy owner, or a group."
        try:
            due_days = int(config.get("due_days") or 0)
        except (TypeError, ValueError):
            due_days = -1
        if not 0 <= due_days <= 3650:
            errors["due_days"] = "Due in 0 to 3650 days (0: no due date)."
        cleaned = {
            "title": title,
            "assignee": assignee,
            "assignee_group_id": group_id if assignee == "group" else None,
            "due_days": due_days,
            "wait_until_done": _is_checked(config.get("wait_until_done")),
        }
        return cleaned, errors

    def describe(self, config):
        waits = " (waits until done)" if config.get("wait_until_done") else ""
        return f"Task: {config.get('title', '')}{waits}"

    def run(self, context: StepContext) -> Outcome:
        config = context.config
        title = templating.render(config["title"], context.data)[:200]
        # Definitions saved before groups existed have no assignee_group_id and no
        # wait_until_done: they mean a user (or the owner) and "do not wait".
        group_id = config.get("assignee_group_id") if config["assignee"] == "group" else None
        assignee_id = None
        if group_id is None:
            assignee_id = (
                (context.data.get("policy") or {}).get("owner_id")
                if config["assignee"] == "owner"
                else int(config["assignee"])
            )
            if assignee_id is None:
                return Outcome.failed("The task is for the policy owner, but there is no policy.")
        elif db.session.get(Group, group_id) is None:
            return Outcome.failed(f"The task's group (id {group_id}) no longer exists.")
        due_days = config.get("due_days") or 0
        due_on = utcnow().date() + timedelta(days=due_days) if due_days else None
        waits = bool(config.get("wait_until_done"))
        output = {"title": title, "assignee_id": assignee_id, "assignee_group_id": group_id}
        if context.live:
            # A re-run after a lost lease finds the task the first run made (step_run_id is
            # unique) instead of failing on, or duplicating, it.
            task = db.session.scalar(sa.select(Task).where(Task.step_run_id == context.step_run_id))
            if task is None:
                task = Task(
                    title=title,
                    assignee_id=assignee_id,
                    assignee_group_id=group_id,
                    due_on=due_on,
                    policy_id=context.policy_id,
                    step_run_id=context.step_run_id,
                    blocks_step=waits,
                )
                db.session.add(task)
                db.session.flush()
            output["task_id"] = task.id
        if waits:
            # The tasks service completes this step when the task is marked done.
            return Outcome("waiting", output=output | {"waiting_for": "task"})
        return Outcome.succeeded(**output)


def _is_checked(raw) -> bool:
    """A checkbox from the designer ("1"), or a stored/JSON boolean."""
    if isinstance(raw, str):
        return raw.strip().lower() not in ("", "0", "false", "off", "no")
    return bool(raw)
