"""The home page, and the live counts in the navigation."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import login_required

from governance.web import readable
from governance.web.htmx import is_htmx

bp = Blueprint("web", __name__)


@bp.app_template_global()
def readable_data(value) -> readable.Readable:
    """For templates/_data.html: a JSON value as a bounded tree of key/value tables."""
    return readable.readable(value)


@bp.route("/")
def index():
    return redirect(url_for("policies.index"))


@bp.route("/nav/counts")
@login_required
def nav_counts():
    """Polled by every page: the inbox badge and the unread bell, as out-of-band swaps."""
    if not is_htmx():
        return redirect(url_for("approvals.index"))
    return render_template("_nav_counts.html", oob=True)
