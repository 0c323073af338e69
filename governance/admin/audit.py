"""The audit pages for admins: the filtered trail (newest first), its CSV export, and the
signed checkpoints with their download."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    request,
    stream_with_context,
    url_for,
)

from governance.audit import checkpoints, export, service
from governance.auth.access import require_role
from governance.auth.service import list_users
from governance.parsing import parse_date, parse_int
from governance.timeutil import utcnow
from governance.web.htmx import page_or_partial
from governance.web.pagination import page_from_args, paginate

bp = Blueprint("audit", __name__)
T = TypeVar("T")
PER_PAGE = 50
CHECKPOINTS_SHOWN = 10


def _query_from_args() -> tuple[service.AuditQuery, list[str]]:
    """The filters in the query string, and what is wrong with them (to show, not to guess)."""
    args = request.args
    errors: list[str] = []
    date_from = _arg("from", "“From”", parse_date, errors)
    date_to = _arg("to", "“To”", parse_date, errors)
    if date_from and date_to and date_from > date_to:
        errors.append("“From” must be on or before “To”.")
    query = service.AuditQuery(
        action=args.get("action", "")[:64],
        actor_id=_arg("actor", "The actor", parse_int, errors),
        object_type=args.get("object_type", "")[:40],
        object_id=_arg("object_id", "The object id", parse_int, errors),
        date_from=date_from,
        date_to=date_to,
    )
    return query, errors


def _arg(name: str, label: str, parse: Callable[[str], T], errors: list[str]) -> T | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return parse(text)
    except ValueError as error:
        errors.append(f"{label}: {error}")
        return None


@bp.route("/admin/audit")
@require_role("admin")
def index():
    query, errors = _query_from_args()
    pagination = (
        None
        if errors
        else paginate(service.events_statement(query), page=page_from_args(), per_page=PER_PAGE)
    )
    filter_args = request.args.to_dict()
    object_types = service.known_object_types()
    if query.object_type and query.object_type not in object_types:
        object_types.append(query.object_type)  # a history link to an object with no events
    return page_or_partial(
        "audit/index.html",
        "audit/_events.html",
        pagination=pagination,
        errors=errors,
        query=query,
        filter_args=filter_args,
        export_args={name: value for name, value in filter_args.items() if name != "page"},
        actions=service.known_actions(),
        object_types=object_types,
        users=list_users(),
        checkpoints=checkpoints.recent_checkpoints(CHECKPOINTS_SHOWN),
        checkpoint_total=checkpoints.checkpoint_count(),
        checkpoint_minutes=current_app.config["AUDIT_CHECKPOINT_MINUTES"],
    )


@bp.route("/admin/audit.csv")
@require_role("admin")
def export_csv():
    query, errors = _query_from_args()
    if errors:
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    rows = service.events_for_export(query)
    filename = f"steward-audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(export.csv_chunks(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/admin/audit/checkpoints.jsonl")
@require_role("admin")
def download_checkpoints():
    """Every signed checkpoint as JSON lines: to keep outside Steward for verify-audit."""
    filename = f"steward-audit-checkpoints-{utcnow():%Y%m%d-%H%M%S}.jsonl"
    return Response(
        stream_with_context(checkpoints.download_lines()),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/audit")
def old_index():
    """The trail's former address: bookmarks keep working, filters included."""
    target = url_for("audit.index")
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, 301)
