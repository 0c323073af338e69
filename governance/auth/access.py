"""Role checks for views: require_role and the login-session loader."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, session
from flask_login import current_user, login_required

from governance.auth import service
from governance.auth.models import User
from governance.extensions import login_manager

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - a session key name, not a secret


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # Checked on every request: a revoked session or a deactivated user stops here.
    return service.load_session_user(user_id, session.get(SESSION_TOKEN_KEY))


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
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    # Session protection is done by the server-side session table, not by hashing the IP.
    login_manager.session_protection = None
