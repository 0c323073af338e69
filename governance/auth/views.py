"""Login, logout and the user's own account page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from governance.auth import service
from governance.auth.access import SESSION_TOKEN_KEY
from governance.auth.forms import ChangePasswordForm, LoginForm, NotificationPreferenceForm
from governance.errors import DomainError
from governance.extensions import db, login_throttle
from governance.notifications.service import set_notification_preference

bp = Blueprint("auth", __name__)

LOGIN_FAILED = "Email or password is not correct."
TOO_MANY_ATTEMPTS = "Too many failed login attempts. Please wait a minute and try again later."

NOTIFY_SAVED = {
    "email": "Saved: you will get an email for every notification.",
    "digest": "Saved: you will get one digest email a day, when there is something new.",
    "in_app": "Saved: you will see notifications in Steward only, no email.",
}


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh login to another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("policies.index")


def _begin_session(user) -> None:
    # A new session at login: nothing from before the login (e.g. a planted cookie) survives.
    session.clear()
    token = service.start_session(user, request.remote_addr, request.user_agent.string)
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("policies.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email, address = form.email.data, request.remote_addr or "unknown"
        if login_throttle.is_blocked(email, address):
            form.form_errors.append(TOO_MANY_ATTEMPTS)
            status = 429
        else:
            user = service.authenticate(email, form.password.data)
            if user is None:
                login_throttle.record_failure(email, address)
                form.form_errors.append(LOGIN_FAILED)
            else:
                _begin_session(user)
                flash(f"Welcome, {user.name}.", "success")
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    service.end_session(session.get(SESSION_TOKEN_KEY), actor=current_user)
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except DomainError as error:
            getattr(form, error.field or "new_password").errors.append(error.message)
        else:
            # Every session ended, this one too: start a fresh one so the user stays logged in here.
            _begin_session(current_user)
            flash("Password changed. You have been logged out everywhere else.", "success")
            return redirect(url_for("auth.account"))
    return _account_page(form=form)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def notification_preference():
    """The second form of the account page; it posts here so the password form stays quiet."""
    if request.method == "GET":
        return redirect(url_for("auth.account"))
    preference = NotificationPreferenceForm()
    if preference.validate_on_submit():
        try:
            set_notification_preference(current_user, preference.notify_by.data)
        except DomainError as error:
            db.session.rollback()
            preference.notify_by.errors.append(error.message)
        else:
            flash(NOTIFY_SAVED[current_user.notify_by], "success")
            return redirect(url_for("auth.account"), 303)
    return _account_page(preference=preference)


def _account_page(form=None, preference=None):
    if preference is None:
        preference = NotificationPreferenceForm(formdata=None, notify_by=current_user.notify_by)
    if form is None:
        form = ChangePasswordForm(formdata=None)
    return render_template("auth/account.html", form=form, preference=preference)
