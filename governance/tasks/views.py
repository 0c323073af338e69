"""The tasks page: my open tasks by due date, the ones I finished, and marking one done."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from governance.auth.forms import ConfirmForm
from governance.errors import DomainError
from governance.extensions import db
from governance.tasks import service
from governance.timeutil import utcnow
from governance.web.htmx import page_or_partial
from governance.web.pagination import paginate

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
PER_PAGE = 50


@bp.route("")
@login_required
def index():
    tab = request.args.get("tab", "open")
    if tab not in service.TABS:
        tab = "open"
    pagination = paginate(
        service.task_list_statement(current_user.id, done=tab == "done"),
        page=max(1, min(request.args.get("page", 1, type=int) or 1, 100_000)),
        per_page=PER_PAGE,
    )
    return page_or_partial(
        "tasks/index.html",
        "tasks/_list.html",
        tab=tab,
        pagination=pagination,
        today=utcnow().date(),
    )


@bp.route("/<int:task_id>/done", methods=["POST"])
@login_required
def done(task_id: int):
    form = ConfirmForm()
    back = redirect(url_for("tasks.index"), 303)
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return back
    try:
        task = service.complete_task(task_id, actor=current_user)
    except DomainError as error:
        db.session.rollback()
        if error.status_code in (403, 404):
            raise
        flash(error.message, "error")  # already done
    else:
        flash(f"“{task.title}” is done.", "success")
    return back
