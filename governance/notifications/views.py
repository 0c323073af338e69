"""The notifications page, marking read, and the unread count in the navigation."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from governance.auth.forms import ConfirmForm
from governance.notifications import feed, kinds
from governance.timeutil import utcnow
from governance.web.htmx import is_htmx, page_or_partial
from governance.web.local_time import current_zone
from governance.web.nav import lazy_user_count
from governance.web.pagination import page_from_args, paginate

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 50


@bp.app_context_processor
def unread_notifications() -> dict:
    """`unread_notification_count()` for the navigation (see web.nav.lazy_user_count)."""
    return {
        "unread_notification_count": lazy_user_count("unread_notification_count", feed.unread_count)
    }


def _query_from_args() -> feed.NotificationQuery:
    kind = request.args.get("kind", "")
    return feed.NotificationQuery(
        unread_only=request.args.get("show") == "unread",
        kind=kind if kinds.get_kind(kind) else "",
        page=page_from_args(),
    )


@bp.route("")
@login_required
def index():
    query = _query_from_args()
    pagination = paginate(
        feed.notification_list_statement(current_user.id, query),
        page=query.page,
        per_page=PER_PAGE,
    )
    entries = feed.entries_of(pagination.items, current_user)
    return page_or_partial(
        "notifications/index.html",
        "notifications/_list.html",
        pagination=pagination,
        query=query,
        kinds=kinds.all_kinds(),
        days=feed.by_day(entries, utcnow(), current_zone()),
    )


def _form_is_valid() -> bool:
    if ConfirmForm().validate_on_submit():
        return True
    flash("The form expired; please try again.", "error")
    return False


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    if _form_is_valid():
        changed = feed.mark_all_read(current_user.id)
        if changed:
            flash(f"Marked {changed} notification{'s' if changed != 1 else ''} read.", "success")
        else:
            flash("Nothing unread.", "info")
    return redirect(url_for("notifications.index"), 303)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """htmx swaps in the row (now read) and the nav badge; a plain form goes back to the list."""
    if not _form_is_valid():
        return redirect(url_for("notifications.index"), 303)
    notification = feed.mark_read(notification_id, user=current_user)  # 404: not theirs
    if is_htmx():
        entry = feed.entries_of([notification], current_user)[0]
        response = make_response(render_template("notifications/_read.html", entry=entry))
        response.vary.add("HX-Request")
        return response
    return redirect(url_for("notifications.index"), 303)
