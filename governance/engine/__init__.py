"""The workflow runtime: dispatch, conditions, actions, runner, reconciler. Never imports views."""

from __future__ import annotations


def init_app() -> None:
    """Subscribe dispatch to policy events and hook enqueue-after-commit onto sessions."""
    from governance.engine import dispatch, enqueue
    from governance.engine.actions import (
        approval,
        assign,
        create_task,
        notify,
        set_status,
        wait,
        webhook,
    )
    from governance.engine.steps import register_step_type

    for step_type in (
        approval.Approval,
        assign.Assign,
        create_task.CreateTask,
        notify.Notify,
        set_status.SetStatus,
        wait.Wait,
        webhook.Webhook,
    ):
        register_step_type(step_type)
    enqueue.init_app()
    dispatch.subscribe_to_policy_events()
