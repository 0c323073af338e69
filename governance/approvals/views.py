"""The admin's decide endpoint on the execution page (the approvers' inbox comes later).

It goes through the one decision service, so four-eyes, "decided once" and the comment rule
apply here exactly as they will in the inbox.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user

from governance.approvals import service
from governance.approvals.forms import DecisionForm
from governance.auth.access import require_role
from governance.errors import DomainError, NotAllowed
from governance.extensions import db

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

RESULTS = {
    "waiting": "Recorded. The step still waits for other approvers.",
    "approved": "Approved. The execution moves on.",
    "rejected": "Rejected.",
}


@bp.route("/<int:request_id>/decide", methods=["POST"])
@require_role("admin")
def decide(request_id: int):
    approval_request = service.get_request(request_id)  # 404 for an unknown id
    execution_id = approval_request.execution_id
    back = redirect(url_for("executions.show", execution_id=execution_id), 303)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash("The form was not sent correctly. Please try again.", "error")
        return back
    try:
        state = service.record_decision(
            approval_request.id,
            user=current_user,
            decision=form.decision.data or "",
            comment=form.comment.data or "",
        )
    except NotAllowed:
        # Four-eyes and "not yours" are refusals, not mistakes: a 403 page with the reason.
        db.session.rollback()
        raise
    except DomainError as error:
        # "Already decided" (Conflict), a rejection without a reason, an unknown decision.
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(RESULTS.get(state, "Decision recorded."), "success")
    return back
