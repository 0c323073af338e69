"""Health endpoints for load balancers and uptime checks: no login, no secrets."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify

from governance.dbutil import is_database_unreachable
from governance.extensions import db, huey
from governance.queues import stats
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _json(payload: dict, status: int):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/health")
def health():
    """200 when the database and the queue storage answer, 503 naming what does not."""
    failed = []
    try:
        with unit_of_work():  # rolled back if the database does not answer
            db.session.execute(sa.text("SELECT 1"))
    except Exception:
        log.warning("Health check: the database does not answer", exc_info=True)
        failed.append("database")
    try:
        huey.pending_count()
    except Exception:
        log.warning("Health check: the queue storage does not answer", exc_info=True)
        failed.append("queue")
    if failed:
        return _json({"status": "unavailable", "failed": failed}, 503)
    return _json({"status": "ok"}, 200)


@bp.route("/health/queues")
def queues():
    """The queue page's figures; 503 when no consumer is alive or the lag passes its limit."""
    try:
        snapshot = stats.snapshot(utcnow(), with_durations=False)
    except sa.exc.DBAPIError as error:
        if not is_database_unreachable(error):
            raise
        log.warning("Queue health: the database does not answer: %s", error.orig)
        db.session.remove()
        return _json({"status": "unavailable", "failed": ["database"]}, 503)
    problems = snapshot.unhealthy_reasons(stats.lag_limit_s())
    payload = snapshot.as_json() | {"status": "unhealthy" if problems else "ok"}
    if problems:
        payload["problems"] = problems
    return _json(payload, 503 if problems else 200)
