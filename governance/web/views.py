"""The home page: send people to the policy list (or the login page)."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

bp = Blueprint("web", __name__)


@bp.route("/")
def index():
    return redirect(url_for("policies.index"))
