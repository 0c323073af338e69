"""The admin's outbox: every email Steward queued, its state and errors, and "Send again"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from governance.auth.access import require_role
from governance.auth.forms import ConfirmForm
from governance.errors import DomainError
from governance.notifications import outbox
from governance.web.htmx import page_or_partial
from governance.web.pagination import page_from_args, paginate

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
PER_PAGE = 50
STATUS_LABELS = {
    "queued": "Queued",
    "sent": "Sent",
    "written": "Written to file",
    "failed": "Failed",
}


@bp.route("")
@require_role("admin")
def index():
    pagination = paginate(
        outbox.outbox_statement(),
        page=page_from_args(),
        per_page=PER_PAGE,
    )
    return page_or_partial(
        "notifications/outbox.html",
        "notifications/_outbox_list.html",
        pagination=pagination,
        status_labels=STATUS_LABELS,
        confirm=ConfirmForm(),
    )


@bp.route("/<int:email_id>")
@require_role("admin")
def show(email_id: int):
    return render_template(
        "notifications/outbox_email.html",
        email=outbox.get_email(email_id),
        status_labels=STATUS_LABELS,
        confirm=ConfirmForm(),
        max_attempts=outbox.MAX_ATTEMPTS,
    )


@bp.route("/<int:email_id>/send-again", methods=["POST"])
@require_role("admin")
def send_again(email_id: int):
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
    else:
        try:
            email = outbox.send_again(email_id, actor=current_user)
        except DomainError as error:
            if error.status_code == 404:
                raise
            flash(error.message, "error")
        else:
            flash(f"“{email.subject}” is queued to be sent again.", "success")
    return redirect(url_for("outbox.show", email_id=email_id), 303)
