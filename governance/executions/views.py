"""Execution pages: the filtered list, the live timeline, and the operators' cancel and retry."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from governance.approvals.service import can_decide, decide_refusal
from governance.auth.access import require_role
from governance.auth.forms import ConfirmForm
from governance.engine import operate
from governance.engine.models import EXECUTION_STATUSES
from governance.errors import DomainError
from governance.executions import service, visibility
from governance.executions.forms import CancelForm
from governance.timeutil import utcnow
from governance.web.htmx import page_or_partial
from governance.web.pagination import page_from_args, paginate
from governance.web.params import arg_date, arg_int

bp = Blueprint("executions", __name__, url_prefix="/executions")
PER_PAGE = 25


@bp.app_template_global()
def execution_readable(execution) -> bool:
    """For pages that link to an execution: only when the current user may open it."""
    return visibility.can_read_execution(current_user, execution)


def _query_from_args() -> service.ExecutionQuery:
    args = request.args
    status = args.get("status", "")
    return service.ExecutionQuery(
        workflow_id=arg_int("workflow"),
        status=status if status in EXECUTION_STATUSES else "",
        policy_id=arg_int("policy"),
        date_from=arg_date("from"),
        date_to=arg_date("to"),
        page=page_from_args(),
    )


@bp.app_template_filter("duration")
def duration(started: datetime | None, finished: datetime | None = None) -> str:
    """“1 h 02 min”, “3.4 s”: how long from start to finish (or until now, while it runs)."""
    if started is None:
        return "—"
    seconds = max(0.0, ((finished or utcnow()) - started).total_seconds())
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"


@bp.route("")
@login_required
def index():
    query = _query_from_args()
    pagination = paginate(
        service.execution_list_statement(query, current_user), page=query.page, per_page=PER_PAGE
    )
    return page_or_partial(
        "executions/index.html",
        "executions/_results.html",
        query=query,
        pagination=pagination,
        statuses=EXECUTION_STATUSES,
        workflows=service.workflow_choices(),
    )


@bp.route("/<int:execution_id>")
@login_required
def show(execution_id: int):
    timeline = service.execution_timeline(execution_id, current_user)
    return page_or_partial(
        "executions/show.html",
        "executions/_timeline.html",
        timeline=timeline,
        execution=timeline.execution,
        is_admin=current_user.is_admin,
        may_decide=lambda approval_request: can_decide(current_user, approval_request),
        why_not_decide=lambda approval_request: decide_refusal(current_user, approval_request),
        may_remind=lambda approval_request: (
            current_user.id == timeline.execution.actor_id or current_user.is_admin
        ),
    )


def _back_to(execution_id: int):
    return redirect(url_for("executions.show", execution_id=execution_id), 303)


@bp.route("/<int:execution_id>/cancel", methods=["POST"])
@require_role("admin")
def cancel(execution_id: int):
    execution = operate.get_execution(execution_id)  # 404 before anything else
    form = CancelForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors) or "The form was not sent correctly.", "error")
        return _back_to(execution.id)
    try:
        service.cancel_execution(
            execution.id, actor=current_user, reason=(form.reason.data or "").strip()
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            f"Execution {execution.id} cancelled; its pending approvals were withdrawn.", "success"
        )
    return _back_to(execution.id)


@bp.route("/<int:execution_id>/retry", methods=["POST"])
@require_role("admin")
def retry(execution_id: int):
    execution = operate.get_execution(execution_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form was not sent correctly.", "error")
        return _back_to(execution.id)
    try:
        step_run_ids = service.retry_execution(execution.id, actor=current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        count = len(step_run_ids)
        flash(
            f"Execution {execution.id} restarted from {count} step{'s' if count != 1 else ''}.",
            "success",
        )
    return _back_to(execution.id)
