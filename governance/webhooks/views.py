"""The admins' Redeliver button of a webhook step run (the delivery log itself is shown on
the execution page, templates/webhooks/_deliveries.html)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user

from governance.auth.access import require_role
from governance.auth.forms import ConfirmForm
from governance.engine.models import StepRun
from governance.errors import DomainError
from governance.lookup import get_or_raise
from governance.webhooks import deliveries

bp = Blueprint("webhooks", __name__)


@bp.route("/webhooks/step-runs/<int:step_run_id>/redeliver", methods=["POST"])
@require_role("admin")
def redeliver(step_run_id: int):
    step_run = get_or_raise(StepRun, step_run_id, "No such step.")  # 404 before anything else
    back = redirect(
        url_for("executions.show", execution_id=step_run.execution_id)
        + f"#deliveries-{step_run.id}",
        303,
    )
    if not ConfirmForm().validate_on_submit():
        flash("The form was not sent correctly.", "error")
        return back
    try:
        delivery = deliveries.redeliver(step_run.id, actor=current_user)
    except DomainError as error:
        flash(error.message, "error")
        return back
    if delivery.outcome == "succeeded":
        flash(f"Redelivered: HTTP {delivery.response_status}.", "success")
    else:
        flash(f"Redelivered, and it did not go through: {delivery.error}", "error")
    return back
