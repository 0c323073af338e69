"""Review pages: "Mark reviewed, no changes" and the review panel on the policy page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from governance.errors import DomainError
from governance.policies import lifecycle
from governance.policies import service as policies
from governance.policies.forms import TransitionForm
from governance.policies.models import Policy
from governance.reviews import service
from governance.reviews.forms import MarkReviewedForm

bp = Blueprint("reviews", __name__, url_prefix="/policies")


@bp.app_template_global()
def review_panel(policy: Policy) -> dict:
    """What the policy page's review panel shows to the current user."""
    form = MarkReviewedForm()
    form.due_on.data = policy.next_review_on
    can_start_revision = any(
        transition.target == lifecycle.DRAFT
        for transition in policies.available_transitions(current_user, policy)
    )
    return {
        "state": service.review_state(policy),
        "reviews": service.recent_reviews(policy.id),
        "can_mark_reviewed": service.can_mark_reviewed(current_user, policy),
        "can_start_revision": can_start_revision and policy.status == lifecycle.PUBLISHED,
        "form": form,
        "transition_form": TransitionForm(),
        "outcomes": service.OUTCOME_LABELS,
    }


@bp.route("/<int:policy_id>/reviews", methods=["POST"])
@login_required
def mark_reviewed(policy_id: int):
    # 404 for a policy this user may not read; the service's 403 for a reader who may not review.
    policy = policies.get_visible_policy(policy_id, current_user)
    form = MarkReviewedForm()
    back = url_for("policies.show", policy_id=policy.id, _anchor="policy-review")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back), 303
    try:
        next_on = service.mark_reviewed(
            policy.id,
            actor=current_user,
            note=form.note.data or "",
            expected_due_on=form.due_on.data,
        )
    except DomainError as error:
        if error.status_code == 403:
            raise
        flash(error.message, "error")
        return redirect(back), 303
    flash(f"Review recorded. Next review: {next_on.strftime('%d %b %Y')}.", "success")
    return redirect(back), 303
