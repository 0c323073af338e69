"""The tasks page: my and my groups' open tasks by due date, the finished ones, and marking
one done with a note (in place with htmx, as a plain form without JavaScript)."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from governance.errors import Conflict, DomainError, NotFound
from governance.tasks import service
from governance.tasks.forms import TaskDoneForm
from governance.timeutil import utcnow
from governance.web.htmx import is_htmx, page_or_partial
from governance.web.pagination import page_from_args

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
PER_PAGE = 50
FORM_EXPIRED = "The form expired or was not sent from Steward; reload the page and try again."


def _page_context(tab: str, page: int) -> dict:
    pagination, counts = service.task_page(
        current_user.id, done=tab == "done", page=page, per_page=PER_PAGE
    )
    return {
        "tab": tab,
        "pagination": pagination,
        "counts": counts,
        "today": utcnow().date(),
        "overdue_days": service.overdue_days,
        "note_max": service.NOTE_MAX,
        "row_errors": {},
        "row_notes": {},
    }


@bp.route("")
@login_required
def index():
    tab = request.args.get("tab", "open")
    if tab not in service.TABS:
        tab = "open"
    page = page_from_args()
    return page_or_partial("tasks/index.html", "tasks/_list.html", **_page_context(tab, page))


@bp.route("/<int:task_id>/done", methods=["POST"])
@login_required
def done(task_id: int):
    # CSRFProtect has already refused a POST without a valid token (400) before this runs.
    form = TaskDoneForm()
    if not form.validate_on_submit():
        flash(FORM_EXPIRED, "error")
        return redirect(url_for("tasks.index"), 303)
    try:
        task = service.complete_task(task_id, actor=current_user, note=form.note.data or "")
    except NotFound as error:
        if is_htmx():
            # The form targets its table row: answer with a row saying why, keeping the status.
            return _row_notice(task_id, error.message, error.status_code)
        raise
    except Conflict as error:
        if is_htmx():
            # Someone else was first: the row leaves the open list all the same.
            return _answer_done(task_id, error.message, is_error=True)
        flash(error.message, "error")
        return redirect(url_for("tasks.index"), 303)
    except DomainError as error:  # the note is too long
        return _note_error(task_id, error.message, form.note.data or "")
    message = f"“{task.title}” is done."
    if is_htmx():
        return _answer_done(task.id, message)
    flash(message, "success")
    return redirect(url_for("tasks.index"), 303)


def _answer_done(task_id: int, message: str, *, is_error: bool = False):
    """htmx: remove the row, and swap in the new tab counts and an announcement (out of band)."""
    html = render_template(
        "tasks/_done.html",
        task_id=task_id,
        counts=service.tab_counts(current_user.id),
        message=message,
        is_error=is_error,
    )
    return _fragment(html, 200)


def _row_notice(task_id: int, message: str, status: int):
    return _fragment(
        render_template("tasks/_notice_row.html", task_id=task_id, message=message), status
    )


def _note_error(task_id: int, message: str, note: str):
    """The note was refused: show the message under it, keeping what was typed.

    htmx gets the row back (status 200, so htmx swaps it); a plain form gets the open list
    again with the message at the top and under the row's note (400).
    """
    if is_htmx():
        task = service.get_task(task_id)
        html = render_template(
            "tasks/_row.html",
            task=task,
            tab="open",
            today=utcnow().date(),
            overdue_days=service.overdue_days,
            note_max=service.NOTE_MAX,
            row_errors={task_id: message},
            row_notes={task_id: note},
        )
        return _fragment(html, 200)
    context = _page_context("open", 1)
    context["row_errors"] = {task_id: message}
    context["row_notes"] = {task_id: note}
    context["page_error"] = message
    return render_template("tasks/index.html", **context), 400


def _fragment(html: str, status: int):
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response
