"""The audit page for admins: newest first, filterable by action, actor and object."""

from __future__ import annotations

from flask import Blueprint, request

from governance.audit import service
from governance.auth.access import require_role
from governance.auth.service import list_users
from governance.web.htmx import page_or_partial
from governance.web.pagination import page_from_args, paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("")
@require_role("admin")
def index():
    action = request.args.get("action", "")[:64]
    actor_id = request.args.get("actor", type=int)
    object_type = request.args.get("object_type", "")[:40]
    object_id = request.args.get("object_id", type=int)
    statement = service.events_statement(
        action=action, actor_id=actor_id, object_type=object_type, object_id=object_id
    )
    pagination = paginate(statement, page=page_from_args(), per_page=50)
    return page_or_partial(
        "audit/index.html",
        "audit/_events.html",
        pagination=pagination,
        actions=service.known_actions(),
        users=list_users(),
        filters={
            "action": action,
            "actor": actor_id,
            "object_type": object_type,
            "object_id": object_id,
        },
    )
