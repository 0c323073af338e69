"""Admin pages: users (create, roles, groups, deactivate) and groups (create, rename, members)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from governance.auth import service
from governance.auth.access import require_role
from governance.auth.forms import (
    ConfirmForm,
    GroupForm,
    UserCreateForm,
    UserEditForm,
    group_choices,
    user_choices,
)
from governance.errors import DomainError
from governance.web.forms import show_domain_error

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@require_role("admin")
def users():
    return render_template("admin/users.html", users=service.list_users(), confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@require_role("admin")
def new_user():
    form = UserCreateForm()
    form.groups.choices = group_choices(service.list_groups())
    if form.validate_on_submit():
        try:
            service.create_user(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                roles=form.roles.data,
                group_ids=form.groups.data,
                actor=current_user,
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(f"User {form.email.data} created.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_role("admin")
def edit_user(user_id: int):
    user = service.get_user(user_id)
    form = UserEditForm(obj=user)
    form.groups.choices = group_choices(service.list_groups())
    if not form.is_submitted():
        form.roles.data = sorted(user.roles)
        form.groups.data = [group.id for group in user.groups]
    if form.validate_on_submit():
        try:
            service.update_user(
                user.id,
                name=form.name.data,
                roles=form.roles.data,
                group_ids=form.groups.data,
                actor=current_user,
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(f"{user.email} updated.", "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html", form=form, user=service.get_user(user_id), confirm=ConfirmForm()
    )


def _set_enabled(user_id: int, enabled: bool):
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("admin.users"))
    try:
        service.set_user_enabled(user_id, enabled, actor=current_user)
    except DomainError as error:
        if error.status_code == 404:
            raise
        flash(error.message, "error")
    else:
        user = service.get_user(user_id)
        verb = "reactivated" if enabled else "deactivated; their sessions have ended"
        flash(f"{user.email} {verb}.", "success")
    return redirect(url_for("admin.users")), 303


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@require_role("admin")
def deactivate_user(user_id: int):
    return _set_enabled(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@require_role("admin")
def reactivate_user(user_id: int):
    return _set_enabled(user_id, True)


@bp.route("/groups", methods=["GET", "POST"])
@require_role("admin")
def groups():
    form = GroupForm()
    del form.members
    if form.validate_on_submit():
        try:
            group_id = service.create_group(form.name.data, actor=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(f"Group {form.name.data} created.", "success")
            return redirect(url_for("admin.edit_group", group_id=group_id))
    return render_template("admin/groups.html", groups=service.list_groups(), form=form)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@require_role("admin")
def edit_group(group_id: int):
    group = service.get_group(group_id)
    form = GroupForm(obj=group)
    form.members.choices = user_choices(service.list_users())
    if not form.is_submitted():
        form.members.data = [member.id for member in group.members]
    if form.validate_on_submit():
        try:
            service.update_group(
                group.id, name=form.name.data, member_ids=form.members.data, actor=current_user
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(f"Group {form.name.data} saved.", "success")
            return redirect(url_for("admin.groups"))
    return render_template("admin/group_form.html", form=form, group=service.get_group(group_id))
