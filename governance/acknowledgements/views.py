"""Acknowledgement pages: my list, reading and confirming, a policy's settings, and the
campaign page (figures polled by htmx) with its CSV roster."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from governance.acknowledgements import service
from governance.acknowledgements.forms import AcknowledgeForm, AckSettingsForm
from governance.acknowledgements.models import AckCampaign
from governance.auth.forms import group_choices
from governance.csvfile import csv_text
from governance.errors import Conflict, DomainError
from governance.policies import service as policies
from governance.policies import versions
from governance.policies.rendering import render_markdown
from governance.timeutil import utcnow
from governance.web.forms import show_domain_error
from governance.web.htmx import is_htmx
from governance.web.nav import lazy_user_count

bp = Blueprint("acknowledgements", __name__)
OPEN_COUNT_KEY = "ack_open_count"
CSV_COLUMNS = (
    "name",
    "email",
    "groups",
    "status",
    "acknowledged_at",
    "version",
    "content_hash",
    "ip_address",
    "user_agent",
)


@bp.app_context_processor
def acknowledgement_helpers() -> dict:
    """`ack_open_count()` for the navigation badge, `ack_panel(policy)` for the policy page."""
    return {
        "ack_open_count": lazy_user_count(OPEN_COUNT_KEY, service.open_count),
        "ack_panel": _panel,
    }


def _panel(policy) -> dict:
    """What the policy page's acknowledgement box shows to the current user."""
    campaign = service.latest_campaign(policy.id)
    may_view = service.can_view_campaigns(current_user, policy)
    return {
        "required": policy.ack_required,
        "audience": service.audience_label(policy),
        "can_manage": service.can_manage(current_user, policy),
        "can_view": may_view,
        "campaign": campaign,
        "figures": service.campaign_figures(campaign) if campaign and may_view else None,
        "mine": service.my_row_for_policy(current_user.id, policy.id),
    }


# ---------------------------------------------------------------- my acknowledgements


@bp.route("/acknowledgements")
@login_required
def index():
    rows = service.my_open_rows(current_user.id)
    setattr(g, OPEN_COUNT_KEY, len(rows))  # the badge needs no query of its own
    return render_template(
        "acknowledgements/index.html",
        rows=rows,
        done=service.my_recent_acknowledgements(current_user.id),
        today=utcnow().date(),
        is_overdue=service.is_overdue,
    )


@bp.route("/acknowledgements/<int:ack_id>")
@login_required
def read(ack_id: int):
    row = service.get_my_row(ack_id, current_user)
    return _read_page(row, AcknowledgeForm())


def _read_page(row, form: AcknowledgeForm, status: int = 200):
    version = versions.live_version(row.campaign.policy)
    return (
        render_template(
            "acknowledgements/read.html",
            row=row,
            campaign=row.campaign,
            policy=row.campaign.policy,
            version=version,
            body_html=render_markdown(version.body) if version else None,
            form=form,
            is_overdue=service.is_overdue(row.campaign),
        ),
        status,
    )


@bp.route("/acknowledgements/<int:ack_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(ack_id: int):
    row = service.get_my_row(ack_id, current_user)  # 404 for someone else's row
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _read_page(row, form, 400)
    try:
        recorded = service.acknowledge(
            row.id,
            user=current_user,
            ip_address=request.remote_addr,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except Conflict as error:
        form.form_errors.append(error.message)
        return _read_page(service.get_my_row(ack_id, current_user), form, 409)
    if recorded:
        flash("Thank you: your acknowledgement is recorded.", "success")
    else:
        flash("You had already acknowledged this policy.", "info")
    return redirect(url_for("acknowledgements.index"), 303)


# ---------------------------------------------------------------- settings


@bp.route("/policies/<int:policy_id>/acknowledgement", methods=["GET", "POST"])
@login_required
def settings(policy_id: int):
    policy = policies.get_visible_policy(policy_id, current_user)
    if not service.can_manage(current_user, policy):
        abort(403, description="Only the policy's owner or an admin can change this.")
    form = AckSettingsForm()
    form.groups.choices = group_choices(service.list_groups())
    if request.method == "GET":
        current = service.current_settings(policy)
        form.required.data = current.required
        form.audience.data = "everyone" if current.everyone or not current.group_ids else "groups"
        form.groups.data = current.group_ids
    if form.validate_on_submit():
        everyone = form.audience.data == "everyone"
        try:
            opened = service.update_settings(
                policy.id,
                service.AckSettings(
                    required=form.required.data,
                    everyone=everyone,
                    group_ids=[] if everyone else list(form.groups.data or []),
                ),
                actor=current_user,
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(
                "Acknowledgement settings saved"
                + ("; the live version is now to be acknowledged." if opened else "."),
                "success",
            )
            return redirect(url_for("policies.show", policy_id=policy.id), 303)
    return render_template("acknowledgements/settings.html", policy=policy, form=form)


# ---------------------------------------------------------------- campaigns


@bp.route("/policies/<int:policy_id>/acknowledgements")
@login_required
def policy_campaign(policy_id: int):
    policy = policies.get_visible_policy(policy_id, current_user)
    if not service.can_view_campaigns(current_user, policy):
        abort(404)
    campaign = service.latest_campaign(policy.id)
    if campaign is None:
        return render_template(
            "acknowledgements/campaign.html",
            policy=policy,
            campaign=None,
            campaigns=[],
            can_manage=service.can_manage(current_user, policy),
        )
    return _campaign_page(campaign)


@bp.route("/acknowledgements/campaigns/<int:campaign_id>")
@login_required
def campaign(campaign_id: int):
    return _campaign_page(service.get_visible_campaign(campaign_id, current_user))


def _campaign_page(campaign: AckCampaign) -> Response:
    figures = service.campaign_figures(campaign)
    if is_htmx():
        # The poll names the figures it shows: unchanged, nothing is sent or swapped.
        if request.args.get("seen") == figures.key():
            response = make_response("", 204)
        else:
            response = make_response(
                render_template("acknowledgements/_campaign_figures.html", **_context(campaign))
            )
        response.vary.add("HX-Request")
        return response
    response = make_response(
        render_template(
            "acknowledgements/campaign.html",
            policy=campaign.policy,
            campaigns=service.list_campaigns(campaign.policy_id),
            can_manage=service.can_manage(current_user, campaign.policy),
            **_context(campaign, figures),
        )
    )
    response.vary.add("HX-Request")
    return response


def _context(campaign: AckCampaign, figures=None) -> dict:
    rows = service.roster(campaign.id)
    today = utcnow().date()
    statuses = {row.id: service.row_status(row, campaign, today) for row in rows}
    return {
        "campaign": campaign,
        "figures": figures or service.campaign_figures(campaign, today),
        "acknowledged": [row for row in rows if statuses[row.id] == "acknowledged"],
        "pending": [row for row in rows if statuses[row.id] != "acknowledged"],
        "overdue": [row for row in rows if statuses[row.id] == "overdue"],
    }


@bp.route("/acknowledgements/campaigns/<int:campaign_id>.csv")
@login_required
def campaign_csv(campaign_id: int):
    campaign = service.get_visible_campaign(campaign_id, current_user)
    today = utcnow().date()
    rows = (
        (
            row.user.name,
            row.user.email,
            "; ".join(group.name for group in row.user.groups),
            service.row_status(row, campaign, today),
            row.acknowledged_at.isoformat() if row.acknowledged_at else "",
            row.version_label,
            row.content_hash,
            row.ip_address,
            row.user_agent,
        )
        for row in service.roster(campaign.id)
    )
    filename = f"acknowledgements-policy-{campaign.policy_id}-v{campaign.version_label}.csv"
    response = make_response(csv_text(CSV_COLUMNS, rows))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
