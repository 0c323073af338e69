"""Role checks for views: require_role and the login-session loader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Response, abort, current_app, flash, g, redirect, request, session
from flask_login import current_user, login_required
from flask_login.utils import login_url
from werkzeug.wrappers import Response as BaseResponse

from governance.auth import service
from governance.auth.models import User
from governance.extensions import login_manager
from governance.web.htmx import is_htmx

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - a session key name, not a secret
SESSION_EXPIRED = "Your session expired, sign in again."
LOGIN_MESSAGE = "Please log in to see that page."
# Polled by every open page on its own: it keeps no session from going idle.
BACKGROUND_ENDPOINTS = frozenset({"web.nav_counts"})


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # Checked on every request: a revoked, idle or too old session, or a deactivated user,
    # stops here.
    config = current_app.config
    try:
        return service.load_session_user(
            user_id,
            session.get(SESSION_TOKEN_KEY),
            idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            lifetime=timedelta(hours=config["SESSION_MAX_HOURS"]),
            is_activity=request.endpoint not in BACKGROUND_ENDPOINTS,
        )
    except service.SessionExpired:
        g.session_expired = True
        return None


@login_manager.unauthorized_handler
def ask_to_log_in() -> BaseResponse:
    """To the login page, back here after it; an htmx request is sent there as a whole page."""
    if g.get("session_expired"):
        session.clear()  # nothing of the ended session is kept, only the flash below
        flash(SESSION_EXPIRED, "info")
    else:
        flash(LOGIN_MESSAGE, "info")
    if is_htmx():
        # A fragment request must not swap the login page into the page it came from; after
        # the login, back to that page (the login view only follows same-site paths).
        target = login_url("auth.login", request.headers.get("HX-Current-URL") or request.url)
        return Response(status=401, headers={"HX-Redirect": target})
    return redirect(login_url("auth.login", request.url))


def require_role(*roles: str) -> Callable:
    """Log in first, then 403 unless the user holds one of `roles`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def configure_login_manager() -> None:
    login_manager.login_view = "auth.login"
    # Session protection is done by the server-side session table, not by hashing the IP.
    login_manager.session_protection = None
