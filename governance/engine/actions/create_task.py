"""create_task: a task with a title, an assignee and a due date, for a person to do."""

from __future__ import annotations

from datetime import timedelta

from governance.auth.models import User
from governance.engine import templating
from governance.engine.actions import Action, ConfigField, Outcome, StepContext, register
from governance.extensions import db
from governance.tasks.models import Task
from governance.timeutil import utcnow


@register
class CreateTask(Action):
    name = "create_task"
    label = "Create a task"
    fields = (
        ConfigField("title", "Title (template)", "text", hint="e.g. Review {{ policy.title }}"),
        ConfigField("assignee", "Assignee", "assignee"),
        ConfigField("due_days", "Due in (days, 0 = no due date)", "number", default="7"),
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
        assignee = str(config.get("assignee") or "")
        if assignee != "owner":
            user = db.session.get(User, int(assignee)) if assignee.isdigit() else None
            if user is None or not user.is_enabled:
                errors["assignee"] = "Choose an active user, or the policy owner."
        try:
            due_days = int(config.get("due_days") or 0)
        except (TypeError, ValueError):
            due_days = -1
        if not 0 <= due_days <= 3650:
            errors["due_days"] = "Due in 0 to 3650 days (0: no due date)."
        return {"title": title, "assignee": assignee, "due_days": due_days}, errors

    def describe(self, config):
        return f"Task: {config.get('title', '')}"

    def run(self, context: StepContext) -> Outcome:
        title = templating.render(context.config["title"], context.data)[:200]
        assignee = context.config["assignee"]
        assignee_id = (
            (context.data.get("policy") or {}).get("owner_id")
            if assignee == "owner"
            else int(assignee)
        )
        if assignee_id is None:
            return Outcome.failed("The task is for the policy owner, but there is no policy.")
        due_days = context.config["due_days"]
        due_on = utcnow().date() + timedelta(days=due_days) if due_days else None
        if context.live:
            task = Task(
                title=title,
                assignee_id=assignee_id,
                due_on=due_on,
                policy_id=context.policy_id,
                step_run_id=context.step_run_id,
            )
            db.session.add(task)
            db.session.flush()
            return Outcome.succeeded(task_id=task.id, title=title, assignee_id=assignee_id)
        return Outcome.succeeded(title=title, assignee_id=assignee_id)
