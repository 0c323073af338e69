"""Opt-in Server-Timing header (STEWARD_SERVER_TIMING=1): server time and SQL statements.

The benchmark in bench/pages.py reads it; browsers show it in their network panel. Off by
default, so production and the tests pay nothing unless they ask for it.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context

from governance.extensions import db


def _count_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    # The engine serves consumers and CLI commands too; only a timed request counts.
    if has_app_context() and "server_timing_started" in g:
        g.server_timing_statements += 1


def _start() -> None:
    if current_app.config.get("STEWARD_SERVER_TIMING"):
        g.server_timing_statements = 0
        g.server_timing_started = time.perf_counter()


def _add_header(response: Response) -> Response:
    started = g.pop("server_timing_started", None)
    if started is not None:
        milliseconds = (time.perf_counter() - started) * 1000
        statements = g.pop("server_timing_statements", 0)
        response.headers["Server-Timing"] = (
            f'app;dur={milliseconds:.1f}, sql;desc="{statements} statements"'
        )
    return response


def init_app(app: Flask) -> None:
    """Listen on every engine of this app; the hooks do nothing while the setting is off.

    The setting is read per request, so a test can turn it on for one app without a new one.
    """
    app.before_request(_start)
    app.after_request(_add_header)
    with app.app_context():
        for engine in db.engines.values():
            if not sa.event.contains(engine, "before_cursor_execute", _count_statement):
                sa.event.listen(engine, "before_cursor_execute", _count_statement)
