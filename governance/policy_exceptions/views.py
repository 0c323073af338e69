"""Exception pages: request one on a policy, the list, the detail with its history, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from governance.auth.access import require_role
from governance.errors import DomainError
from governance.extensions import db
from governance.policies import service as policies
from governance.policies.models import Policy
from governance.policy_exceptions import service
from governance.policy_exceptions.forms import ExceptionForm, RevokeForm
from governance.timeutil import utcnow
from governance.web.forms import show_domain_error
from governance.web.htmx import page_or_partial
from governance.web.moved import redirect_prefix
from governance.web.pagination import page_from_args, paginate
from governance.web.params import arg_int

bp = Blueprint("policy_exceptions", __name__)
PER_PAGE = 25
redirect_prefix(bp, "/exceptions", "/policy-exceptions")  # the address until issue 16


@bp.app_template_global()
def exceptions_readable() -> bool:
    """For pages that link to an exception: only when the current user may open one."""
    return current_user.is_authenticated and service.can_list(current_user)


@bp.app_template_global()
def policy_exceptions_panel(policy: Policy) -> dict[str, Any]:
    """What the policy page's exceptions panel shows (templates/policy_exceptions/_panel.html)."""
    if not current_user.is_authenticated or not service.can_list(current_user):
        return {"visible": False}
    return {
        "visible": True,
        "exceptions": service.open_exceptions(policy.id),
        "can_request": service.can_request(current_user, policy),
        "today": utcnow().date(),
    }


@bp.route("/policies/<int:policy_id>/exceptions/new", methods=["GET", "POST"])
@login_required
def new(policy_id: int):
    policy = policies.get_visible_policy(policy_id, current_user)
    if not service.can_manage(current_user, policy):
        abort(403, description="Only the policy's owner or an admin can request an exception.")
    if not policy.has_live_version:
        flash("Only a policy with a published version in force can have exceptions.", "error")
        return redirect(url_for("policies.show", policy_id=policy.id))
    form = ExceptionForm()
    max_days = current_app.config["EXCEPTION_MAX_DAYS"]
    if form.validate_on_submit():
        try:
            exception_id = service.request_exception(
                policy.id,
                service.ExceptionInput(
                    scope=form.scope.data or "",
                    justification=form.justification.data or "",
                    expires_on=form.expires_on.data,
                ),
                actor=current_user,
                max_days=max_days,
            )
        except DomainError as error:
            if error.status_code == 403:
                raise
            show_domain_error(form, error)
        else:
            flash("Exception requested: it takes effect once its workflow approves it.", "success")
            return redirect(url_for("policy_exceptions.show", exception_id=exception_id))
    today = utcnow().date()
    return render_template(
        "policy_exceptions/form.html",
        form=form,
        policy=policies.get_policy(policy_id),
        max_days=max_days,
        earliest=today + timedelta(days=1),
        latest=today + timedelta(days=max_days),
    )


@bp.route("/policy-exceptions")
@require_role(*service.READ_ROLES)
def index():
    status = request.args.get("status", "open")
    if status not in service.STATUS_FILTERS:
        status = "open"
    policy_id = arg_int("policy")
    policy = db.session.get(Policy, policy_id) if policy_id else None
    pagination = paginate(
        service.list_statement(status, policy_id=policy.id if policy else None),
        page=page_from_args(),
        per_page=PER_PAGE,
    )
    return page_or_partial(
        "policy_exceptions/index.html",
        "policy_exceptions/_results.html",
        status=status,
        policy=policy,
        statuses=service.STATUS_FILTERS,
        pagination=pagination,
        today=utcnow().date(),
    )


@bp.route("/policy-exceptions/<int:exception_id>")
@login_required
def show(exception_id: int):
    exception = service.get_readable_exception(exception_id, current_user)
    return render_template(
        "policy_exceptions/show.html",
        exception=exception,
        history=service.history(exception.id),
        can_revoke=service.can_revoke(current_user, exception),
        revoke_form=RevokeForm(),
        today=utcnow().date(),
    )


@bp.route("/policy-exceptions/<int:exception_id>/revoke", methods=["POST"])
@login_required
def revoke(exception_id: int):
    # 404 for who may not read it; 403 for a reader who may not revoke it.
    exception = service.get_readable_exception(exception_id, current_user)
    if not service.can_manage(current_user, exception.policy):
        abort(403, description="Only the policy's owner or an admin can revoke its exceptions.")
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            service.revoke_exception(exception.id, actor=current_user, reason=form.reason.data)
        except DomainError as error:
            if error.status_code == 403:
                raise
            show_domain_error(form, error)
        else:
            flash("Exception revoked.", "success")
            return redirect(url_for("policy_exceptions.show", exception_id=exception_id), 303)
    exception = service.get_exception(exception_id)
    return render_template(
        "policy_exceptions/show.html",
        exception=exception,
        history=service.history(exception.id),
        can_revoke=service.can_revoke(current_user, exception),
        revoke_form=form,
        today=utcnow().date(),
    )
