"""Login, logout and the user's own account page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from governance.auth import service, tokens
from governance.auth.access import SESSION_TOKEN_KEY
from governance.auth.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    ConfirmForm,
    DisplayPreferenceForm,
    LoginForm,
    NotificationPreferenceForm,
)
from governance.auth.models import THEME_CHOICES
from governance.auth.preferences import set_display_preferences, set_notification_preference
from governance.auth.throttle import login_throttle
from governance.errors import DomainError
from governance.timeutil import utcnow
from governance.web.local_time import current_zone
from governance.web.times import zone_label

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
        if not login_throttle.take_attempt(email, address):
            form.form_errors.append(TOO_MANY_ATTEMPTS)
            status = 429
        else:
            user = service.authenticate(email, form.password.data)
            if user is None:
                login_throttle.record_failure(email, address)
                form.form_errors.append(LOGIN_FAILED)
            else:
                login_throttle.give_back_attempt(email, address)
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
            preference.notify_by.errors.append(error.message)
        else:
            flash(NOTIFY_SAVED[current_user.notify_by], "success")
            return redirect(url_for("auth.account"), 303)
    return _account_page(preference=preference)


@bp.route("/account/display", methods=["GET", "POST"])
@login_required
def display_preferences():
    """The account page's colour scheme and time zone; posts here like the notification form."""
    if request.method == "GET":
        return redirect(url_for("auth.account"))
    display = DisplayPreferenceForm()
    if display.validate_on_submit():
        try:
            set_display_preferences(current_user, display.theme.data, display.time_zone.data)
        except DomainError as error:
            getattr(display, error.field or "time_zone").errors.append(error.message)
        else:
            zone = current_user.time_zone or "your browser's time zone"
            theme = THEME_CHOICES[current_user.theme].lower()
            flash(f"Saved: theme “{theme}”, times shown in {zone}.", "success")
            return redirect(url_for("auth.account"), 303)
    return _account_page(display=display)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    """The user's API tokens: create one (shown once, in the answer to the POST that made it),
    list them.

    The plaintext goes into that one response and nowhere else: not the session (a signed,
    not encrypted, cookie), not a redirect's address. The page is never cached (no-store),
    and boosted by htmx the address bar shows /account/tokens, so a reload is a plain GET.
    """
    token_form = ApiTokenForm()
    new = None
    if token_form.validate_on_submit():
        try:
            new = tokens.create_token(
                current_user,
                name=token_form.name.data,
                expires_on=token_form.expires_on.data,
                today=utcnow().date(),
            )
        except DomainError as error:
            getattr(token_form, error.field or "name").errors.append(error.message)
        else:
            token_form = ApiTokenForm(formdata=None)  # the fields start empty for the next one
    response = make_response(
        render_template(
            "auth/tokens.html",
            token_form=token_form,
            api_tokens=tokens.list_tokens(current_user),
            new_api_token=new,
            now=utcnow(),
        ),
        201 if new is not None else 200,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_api_token(token_id: int):
    """GET asks to confirm; POST revokes. Someone else's token is a 404 either way."""
    token = tokens.find_token(current_user, token_id)
    confirm = ConfirmForm()
    if confirm.validate_on_submit():
        tokens.revoke_token(current_user, token.id)
        flash(f"API token “{token.name}” revoked: requests with it are now refused.", "success")
        return redirect(url_for("auth.api_tokens"), 303)
    return render_template(
        "auth/revoke_token.html", token=token, confirm=confirm, state=token.state(utcnow())
    )


def _account_page(form=None, preference=None, display=None):
    if display is None:
        display = DisplayPreferenceForm(
            formdata=None, theme=current_user.theme, time_zone=current_user.time_zone or ""
        )
    if preference is None:
        preference = NotificationPreferenceForm(formdata=None, notify_by=current_user.notify_by)
    if form is None:
        form = ChangePasswordForm(formdata=None)
    return render_template(
        "auth/account.html",
        form=form,
        preference=preference,
        display=display,
        reader_zone=zone_label(current_zone()),
        active_api_tokens=tokens.count_active_tokens(current_user),
    )
