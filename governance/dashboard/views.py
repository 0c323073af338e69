"""The governance dashboard: status, review, acknowledgement, approval and exception figures."""

from __future__ import annotations

from flask import Blueprint, render_template

from governance.auth.access import require_role
from governance.dashboard.service import build_dashboard

bp = Blueprint("dashboard", __name__)

DASHBOARD_ROLES = ("admin", "owner", "approver")


@bp.route("/dashboard")
@require_role(*DASHBOARD_ROLES)
def index():
    return render_template("dashboard/index.html", dashboard=build_dashboard())
