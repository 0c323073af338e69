"""The approver's inbox, and the decide / delegate / remind actions.

Every action goes through the services (decision, delegation, reminders), so four-eyes,
"decided once" and the comment rule hold here exactly as everywhere else. Each works as a
plain form; with htmx a decision answers with the item's new state plus out-of-band
updates of the tab counts and the navigation badge.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from governance.approvals import delegation, eligibility, inbox, reminders, service
from governance.approvals.forms import BulkDecisionForm, DecisionForm, DelegateForm
from governance.auth.forms import ConfirmForm
from governance.errors import DomainError, NotAllowed
from governance.extensions import db
from governance.web.fields import select_choices
from governance.web.forms import show_domain_error
from governance.web.htmx import is_htmx, page_or_partial
from governance.web.moved import redirect_prefix
from governance.web.nav import lazy_user_count
from governance.web.pagination import page_from_args
from governance.web.params import arg_int, form_ids

bp = Blueprint("approvals", __name__)
PER_PAGE = 25
redirect_prefix(bp, "/inbox", "/approvals")  # the Inbox's address until issue 16
WAITING_COUNT_KEY = "inbox_waiting_count"
FORM_EXPIRED = "The form expired or was not sent from Steward. Please try again."


@bp.app_context_processor
def inbox_badge() -> dict:
    """`inbox_waiting_count()` for the navigation (see web.nav.lazy_user_count)."""
    return {
        "inbox_waiting_count": lazy_user_count(WAITING_COUNT_KEY, inbox.waiting_count),
        "due_label": inbox.due_label,
    }


def _tab_counts() -> dict[str, int]:
    """The tabs' counts; the navigation badge reuses the waiting one instead of a query."""
    counts = inbox.tab_counts(current_user.id)
    setattr(g, WAITING_COUNT_KEY, counts["waiting"])
    return counts


def _query_from_args() -> inbox.InboxQuery:
    return inbox.InboxQuery(
        tab=request.args.get("tab", "waiting"),
        workflow_id=arg_int("workflow"),
        category=request.args.get("category", ""),
        due=request.args.get("due", ""),
        sort=request.args.get("sort", "due"),
    )


@bp.route("/approvals")
@login_required
def index():
    query = _query_from_args()
    counts = _tab_counts()
    pagination = inbox.page_of_requests(
        query, current_user.id, page=page_from_args(), per_page=PER_PAGE, counts=counts
    )
    return page_or_partial(
        "approvals/index.html",
        "approvals/_results.html",
        query=query,
        pagination=pagination,
        items=inbox.build_items(pagination.items, current_user),
        counts=counts,
        workflows=inbox.workflow_choices(),
        categories=inbox.category_choices(),
        **_item_helpers(),
    )


def _item_helpers() -> dict:
    return {
        "decision_form": DecisionForm(formdata=None),
        "bulk_form": BulkDecisionForm(formdata=None),
        "tabs": inbox.TABS,
        "due_filters": inbox.DUE_FILTERS,
        "sorts": inbox.SORTS,
    }


def _inbox_redirect():
    """Back to the inbox view the form came from (only ever an inbox address)."""
    back = request.form.get("back", "")
    if not (back.startswith("/approvals") and "//" not in back and "\\" not in back):
        back = url_for("approvals.index")
    return redirect(back, 303)


@bp.route("/approvals/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    approval_request = service.get_readable_request(request_id, current_user)
    form = DecisionForm()
    from_inbox = form.origin.data == "inbox"
    if not form.validate_on_submit():
        return _decision_answer(approval_request, from_inbox, error=FORM_EXPIRED, status=400)
    try:
        state = service.record_decision(
            approval_request.id,
            user=current_user,
            decision=form.decision.data or "",
            comment=form.comment.data or "",
        )
    except NotAllowed:
        # Four-eyes and "not yours" are refusals, not mistakes: a 403 with the reason.
        raise
    except DomainError as error:
        # "Already decided", a rejection without a reason, an unknown decision.
        # A mistake in the form is 422; "already decided" and the like keep their 409.
        status = 422 if error.status_code == 400 else error.status_code
        return _decision_answer(approval_request, from_inbox, error=error.message, status=status)
    return _decision_answer(approval_request, from_inbox, state=state)


def _decision_answer(approval_request, from_inbox: bool, *, state=None, error=None, status=200):
    """htmx from the inbox: the item's new state and fresh counts; otherwise a redirect."""
    if from_inbox and is_htmx():
        db.session.refresh(approval_request)
        items = inbox.build_items([approval_request], current_user)
        html = render_template(
            "approvals/_decided.html",
            item=items[0],
            state=state,
            error=error,
            message=service.STATE_MESSAGES.get(state, ""),
            comment=request.form.get("comment", ""),
            counts=_tab_counts(),
            query=inbox.InboxQuery(tab=request.form.get("tab", "waiting")),
            **_item_helpers(),
        )
        return make_response(html, status if error else 200)
    if error:
        flash(error, "error")
    else:
        flash(service.STATE_MESSAGES.get(state, "Decision recorded."), "success")
    if from_inbox:
        return _inbox_redirect()
    return redirect(url_for("executions.show", execution_id=approval_request.execution_id), 303)


@bp.route("/approvals/bulk", methods=["POST"])
@login_required
def bulk_decide():
    form = BulkDecisionForm()
    if not form.validate_on_submit():
        flash(FORM_EXPIRED if form.csrf_token.errors else "The comment is too long.", "error")
        return _inbox_redirect()
    request_ids = form_ids("request_ids")
    if not request_ids:
        flash("Select at least one request to approve.", "error")
        return _inbox_redirect()
    results = service.decide_many(
        request_ids[:100], user=current_user, decision="approved", comment=form.comment.data or ""
    )
    approved = [result for result in results if result.ok]
    refused = [result for result in results if not result.ok]
    if approved:
        flash(f"Approved {len(approved)} request{'s' if len(approved) != 1 else ''}.", "success")
    for result in refused:
        flash(f"Request {result.request_id} was not approved: {result.message}", "error")
    return _inbox_redirect()


@bp.route("/approvals/<int:request_id>/delegate", methods=["GET", "POST"])
@login_required
def delegate(request_id: int):
    approval_request = service.get_readable_request(request_id, current_user)
    if not (service.is_assignee(current_user, approval_request) or current_user.is_admin):
        raise NotAllowed("Only the request's approver (or an admin) can delegate it.")
    form = DelegateForm()
    # Nobody the service would refuse for four-eyes is offered (the rest it explains).
    excluded = {current_user.id, approval_request.execution.actor_id or 0}
    excluded |= eligibility.change_authors(approval_request.execution)
    form.to_user_id.choices = select_choices(
        [(0, "— choose an approver —")]
        + [
            (user.id, f"{user.name} ({user.email})")
            for user in delegation.delegate_candidates(excluded)
        ]
    )
    status = 200
    if form.validate_on_submit():
        try:
            delegate_user = delegation.delegate(
                approval_request.id,
                actor=current_user,
                to_user_id=form.to_user_id.data,
                reason=form.reason.data or "",
            )
        except NotAllowed:
            raise
        except DomainError as error:
            show_domain_error(form, error)
            status = 422
        else:
            flash(f"Delegated to {delegate_user.name}.", "success")
            return redirect(url_for("approvals.index", tab="delegated"), 303)
    elif form.is_submitted():
        status = 422
    item = inbox.build_items([approval_request], current_user)[0]
    return render_template("approvals/delegate.html", form=form, item=item), status


@bp.route("/approvals/<int:request_id>/remind", methods=["POST"])
@login_required
def remind(request_id: int):
    approval_request = service.get_readable_request(request_id, current_user)
    back = redirect(url_for("executions.show", execution_id=approval_request.execution_id), 303)
    if not ConfirmForm().validate_on_submit():
        flash(FORM_EXPIRED, "error")
        return back
    try:
        reminders.remind(approval_request.id, actor=current_user)
    except NotAllowed:
        raise
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"Reminded {approval_request.assignee_label}.", "success")
    return back
