"""Policy pages: list and search, read, create, edit, lifecycle, revisions and comparison."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from governance.auth.access import require_role
from governance.auth.forms import user_choices
from governance.errors import Conflict, DomainError
from governance.policies import lifecycle, service, versions, visibility
from governance.policies.diffing import changed_count, side_by_side
from governance.policies.forms import PolicyForm, PreviewForm, TransitionForm
from governance.policies.models import CHANGE_KINDS, PolicyRevision
from governance.policies.page_parts import page_parts
from governance.policies.rendering import render_markdown
from governance.web.forms import forget_local_draft, show_domain_error
from governance.web.htmx import page_or_partial
from governance.web.pagination import COUNT_CAP, page_from_args, paginate
from governance.web.params import arg_int

bp = Blueprint("policies", __name__, url_prefix="/policies")


@bp.app_template_global()
def policy_face(policy):
    """What the current user reads of a policy shown in a list or a link: the policy, or its
    live version when a draft they may not read is beside it (visibility.policy_face)."""
    return visibility.policy_face(current_user, policy)


@bp.app_template_global()
def policy_readable(policy) -> bool:
    """For pages that link to a policy: only when the current user may open it."""
    return visibility.can_read_policy(current_user, policy)


def query_from_args() -> service.PolicyQuery:
    args = request.args
    return service.PolicyQuery(
        text=args.get("q", "")[:200],
        status=args.get("status", ""),
        owner_id=arg_int("owner"),
        category=args.get("category", "")[:80],
        review_due=args.get("review_due") == "1",
        review=args.get("review", "") if args.get("review") in service.REVIEW_FILTERS else "",
        sort=args.get("sort", "updated") if args.get("sort") in service.SORTS else "updated",
        page=page_from_args(),
    )


@bp.route("")
@login_required
def index():
    query = query_from_args()
    pagination = paginate(
        service.policy_list_statement(query, current_user),
        page=query.page,
        per_page=current_app.config["POLICIES_PER_PAGE"],
        # A text search checks each candidate's text, so its count stops sooner ("1,000+").
        cap=current_app.config["POLICY_SEARCH_COUNT_CAP"] if query.text else COUNT_CAP,
    )
    return page_or_partial(
        "policies/index.html",
        "policies/_results.html",
        query=query,
        pagination=pagination,
        statuses=lifecycle.STATUS_LABELS,
        sorts=service.SORT_LABELS,
        review_filters=service.REVIEW_FILTERS,
        owners=service.eligible_owners() if current_user.has_role(*service.READ_ALL_ROLES) else [],
        categories=service.list_categories(),
        can_create=service.can_create(current_user),
    )


def _owner_choices(form: PolicyForm) -> None:
    form.owner_id.choices = user_choices(service.eligible_owners())


def _input_from(form: PolicyForm) -> service.PolicyInput:
    return service.PolicyInput(
        title=form.title.data or "",
        body=form.body.data or "",
        category=form.category.data or "",
        owner_id=form.owner_id.data if service.can_choose_owner(current_user) else current_user.id,
        tags=form.tags.data or "",
        review_frequency=form.frequency(),
        review_interval_days=form.interval(),
        next_review_on=form.next_review_on.data,
    )


def _form_page(template: str, form: PolicyForm, status: int = 200, **context):
    return (
        render_template(
            template,
            form=form,
            categories=service.list_categories(),
            can_choose_owner=service.can_choose_owner(current_user),
            **context,
        ),
        status,
    )


@bp.route("/new", methods=["GET", "POST"])
@require_role("owner", "admin")
def new():
    form = PolicyForm()
    _owner_choices(form)
    if request.method == "GET":
        form.owner_id.data = current_user.id
    if not service.can_choose_owner(current_user):
        # Owners always own what they create; the field is not even read.
        del form.owner_id
    if form.validate_on_submit():
        try:
            policy_id = service.create_policy(
                _input_from(form),
                actor=current_user,
                max_body=current_app.config["POLICY_BODY_MAX_CHARS"],
                summary=form.summary.data or "",
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash("Policy created as a draft.", "success")
            forget_local_draft("policy:new")
            return redirect(url_for("policies.show", policy_id=policy_id))
    return _form_page("policies/form.html", form, policy=None)


@bp.route("/preview", methods=["POST"])
@require_role(*service.WRITE_ROLES)
def preview():
    """The policy text as the policy page will show it, for the pane beside the editor."""
    form = PreviewForm()
    if not form.validate():
        abort(400, description="The preview could not be read; reload the page and try again.")
    body = form.body.data or ""
    limit = current_app.config["POLICY_BODY_MAX_CHARS"]
    if len(body) > limit:
        # The same limit as a save, so the preview never shows text that cannot be saved.
        message = f"The text is too long ({len(body):,} characters; the limit is {limit:,})."
        return render_template("policies/_preview.html", too_long=message), 422
    return render_template(
        "policies/_preview.html", body_html=render_markdown(body) if body.strip() else None
    )


@bp.route("/<int:policy_id>")
@login_required
def show(policy_id: int):
    policy = service.get_visible_policy(policy_id, current_user)
    live = versions.live_version(policy)
    previous = versions.previous_version(live) if live is not None else None
    # Readers without a drafting role read the published version, never a draft beside it.
    shown = policy if service.can_read_drafts(current_user) or live is None else live
    return render_template(
        "policies/show.html",
        policy=policy,
        shown=shown,
        live=live,
        previous=previous,
        live_changes=_changes_between(previous, live) if previous and live else None,
        # A draft can only be submitted beside a live version or before the first one.
        next_labels={kind: versions.next_label(live.version_label, kind) for kind in CHANGE_KINDS}
        if live is not None
        else None,
        body_html=render_markdown(shown.body),
        can_edit=service.can_edit(current_user, policy),
        transitions=service.available_transitions(current_user, policy),
        gate=service.transition_gate(current_user, policy),
        transition_form=TransitionForm(),
        revisions=service.list_readable_revisions(policy.id, current_user)[:5],
        is_review_due=policy.is_review_due(),
        can_read_drafts=service.can_read_drafts(current_user),
        **page_parts(policy, current_user),  # the latest executions, from executions
    )


@bp.route("/<int:policy_id>/edit", methods=["GET", "POST"])
@login_required
def edit(policy_id: int):
    # 404 for a policy this user may not read; 403 for one they read but may not edit.
    policy = service.get_visible_policy(policy_id, current_user)
    if not service.can_edit(current_user, policy):
        if policy.status not in lifecycle.EDITABLE_STATUSES and current_user.has_role(
            *service.WRITE_ROLES
        ):
            flash(
                f"This policy is {policy.status_label.lower()}; only drafts can be edited.", "error"
            )
            return redirect(url_for("policies.show", policy_id=policy.id))
        abort(403, description="Only the policy's owner or an admin can edit it.")
    form = PolicyForm(obj=policy if request.method == "GET" else None)
    _owner_choices(form)
    if request.method == "GET":
        form.tags.data = ", ".join(policy.tag_list)
        form.review_frequency.data = policy.review_frequency or ""
        form.version.data = policy.version
        form.summary.data = ""
    if not service.can_choose_owner(current_user):
        del form.owner_id
    status = 200
    if form.validate_on_submit():
        try:
            number = service.update_policy(
                policy.id,
                _input_from(form),
                actor=current_user,
                expected_version=form.version.data or 0,
                max_body=current_app.config["POLICY_BODY_MAX_CHARS"],
                summary=form.summary.data or "",
            )
        except Conflict as error:
            form.form_errors.append(error.message)
            status = 409
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(f"Saved as revision {number}.", "success")
            forget_local_draft(f"policy:{policy.id}")
            return redirect(url_for("policies.show", policy_id=policy.id))
    return _form_page("policies/form.html", form, status, policy=service.get_policy(policy_id))


@bp.route("/<int:policy_id>/transition", methods=["POST"])
@login_required
def transition(policy_id: int):
    policy = service.get_visible_policy(policy_id, current_user)
    form = TransitionForm()
    if not form.validate_on_submit():
        flash("Choose what to do with the policy.", "error")
        return redirect(url_for("policies.show", policy_id=policy.id))
    try:
        service.transition_policy(
            policy.id,
            form.target.data,
            actor=current_user,
            reason=form.reason.data or "",
            expected_version=form.version.data,
            change_kind=form.change_kind.data or None,
        )
    except DomainError as error:
        if error.status_code == 403:
            raise
        flash(error.message, "error")
        return redirect(url_for("policies.show", policy_id=policy.id)), 303
    flash(f"“{policy.title}” is now {policy.status_label.lower()}.", "success")
    return redirect(url_for("policies.show", policy_id=policy.id)), 303


@bp.route("/<int:policy_id>/revisions")
@login_required
def revisions(policy_id: int):
    policy = service.get_visible_policy(policy_id, current_user)
    return render_template(
        "policies/revisions.html",
        policy=policy,
        revisions=service.list_readable_revisions(policy.id, current_user),
    )


@bp.route("/<int:policy_id>/revisions/<int:number>")
@login_required
def revision(policy_id: int, number: int):
    policy = service.get_visible_policy(policy_id, current_user)
    revision = service.get_readable_revision(policy.id, number, current_user)
    return render_template(
        "policies/revision.html",
        policy=policy,
        revision=revision,
        body_html=render_markdown(revision.body),
    )


@bp.route("/<int:policy_id>/compare")
@login_required
def compare(policy_id: int):
    policy = service.get_visible_policy(policy_id, current_user)
    readable = service.list_readable_revisions(policy.id, current_user)
    if not readable:
        abort(404)
    newest = readable[0].number
    old_number = arg_int("from", max(1, newest - 1))
    new_number = arg_int("to", newest)
    if old_number > new_number:
        old_number, new_number = new_number, old_number
    old, new = (
        service.get_readable_revision(policy.id, old_number, current_user),
        service.get_readable_revision(policy.id, new_number, current_user),
    )
    return render_template(
        "policies/compare.html",
        policy=policy,
        old=old,
        new=new,
        revisions=readable,
        **_changes_between(old, new),
    )


def _changes_between(old: PolicyRevision, new: PolicyRevision) -> dict:
    """The side-by-side text diff and the changed fields of two revisions."""
    rows = side_by_side(old.body, new.body)
    fields = [
        (label, getattr(old, name), getattr(new, name))
        for label, name in (("Title", "title"), ("Category", "category"), ("Tags", "tags"))
        if getattr(old, name) != getattr(new, name)
    ]
    return {"rows": rows, "changed": changed_count(rows), "fields": fields}


@bp.route("/<int:policy_id>/versions")
@login_required
def version_list(policy_id: int):
    policy = service.get_policy(policy_id)
    published = versions.list_versions(policy.id)
    if not published:
        abort(404)
    return render_template("policies/versions.html", policy=policy, versions=published)


@bp.route("/<int:policy_id>/versions/<label>")
@login_required
def version(policy_id: int, label: str):
    """A published version, readable and linkable forever (even after retirement)."""
    policy = service.get_policy(policy_id)
    version = versions.get_version(policy.id, label[:20])
    previous = versions.previous_version(version)
    return render_template(
        "policies/version.html",
        policy=policy,
        version=version,
        previous=previous,
        is_live=version.number == policy.published_revision and policy.has_live_version,
        body_html=render_markdown(version.body),
    )
