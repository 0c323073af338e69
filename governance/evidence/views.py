"""Exports: a published version as PDF, the policies list as CSV, and the evidence pack pages
(request, progress, "Build again", download)."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from governance.auth.access import require_role
from governance.csvfile import csv_chunks
from governance.errors import DomainError
from governance.evidence import csv_export, pdf, service
from governance.evidence.forms import EvidencePackForm, RebuildForm
from governance.policies import service as policies
from governance.policies import versions

# The list page's own query parsing, so the export matches the page filter for filter.
from governance.policies.views import query_from_args as policy_query_from_args
from governance.timeutil import utcnow
from governance.web.forms import show_domain_error
from governance.web.htmx import page_or_partial
from governance.web.pagination import page_from_args, paginate

bp = Blueprint("evidence", __name__)
PACKS_PER_PAGE = 25


@bp.route("/policies/<int:policy_id>/versions/<label>/pdf")
@login_required
def version_pdf(policy_id: int, label: str):
    policy = policies.get_visible_policy(policy_id, current_user)
    version = versions.get_version(policy.id, label)
    return send_file(
        io.BytesIO(pdf.render_version_pdf(policy, version)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=pdf.pdf_filename(policy, version),
        max_age=0,
    )


@bp.route("/policies/export.csv")
@login_required
def policies_csv():
    statement = policies.policy_list_statement(policy_query_from_args(), current_user)
    filename = f"steward-policies-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(
            csv_chunks(csv_export.POLICY_COLUMNS, csv_export.policy_rows(statement, current_user))
        ),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/evidence", methods=["GET", "POST"])
@require_role(*service.REQUEST_ROLES)
def index():
    form = EvidencePackForm()
    if not form.is_submitted():
        today = utcnow().date()
        form.period_start.data = today.replace(month=1, day=1)
        form.period_end.data = today
    status = 200
    if form.validate_on_submit():
        try:
            pack_id = service.request_pack(
                current_user,
                form.period_start.data,
                form.period_end.data,
                today=utcnow().date(),
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash("The evidence pack is queued; this page shows its progress.", "success")
            return redirect(url_for("evidence.show", pack_id=pack_id), 303)
    if form.is_submitted() and (form.errors or form.form_errors):
        status = 422
    pagination = paginate(
        service.packs_statement(current_user), page=page_from_args(), per_page=PACKS_PER_PAGE
    )
    return render_template("evidence/index.html", form=form, pagination=pagination), status


@bp.route("/evidence/<int:pack_id>")
@login_required
def show(pack_id: int):
    """The pack's page; for htmx, only its progress fragment (polled until it is finished)."""
    pack = service.get_pack_for(pack_id, current_user)
    return page_or_partial(
        "evidence/show.html", "evidence/_progress.html", pack=pack, rebuild_form=RebuildForm()
    )


@bp.route("/evidence/<int:pack_id>/rebuild", methods=["POST"])
@login_required
def rebuild(pack_id: int):
    service.get_pack_for(pack_id, current_user)  # 404 first for a pack that is not theirs
    form = RebuildForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("evidence.show", pack_id=pack_id), 303)
    try:
        service.rebuild_pack(pack_id, current_user)
    except DomainError as error:
        if error.status_code == 404:
            raise
        flash(error.message, "error")
    else:
        flash("The evidence pack is queued again.", "success")
    return redirect(url_for("evidence.show", pack_id=pack_id), 303)


@bp.route("/evidence/<int:pack_id>/download")
@login_required
def download(pack_id: int):
    found = service.download_pack(pack_id, current_user)
    return send_file(
        found.path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
