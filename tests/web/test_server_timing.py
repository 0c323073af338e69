"""The opt-in Server-Timing header: server time and the SQL statements a request issued."""

from __future__ import annotations

import re

import pytest

TIMING = re.compile(r'^app;dur=(\d+(?:\.\d+)?), sql;desc="(\d+) statements"$')


@pytest.fixture
def timing_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "STEWARD_SERVER_TIMING", True)


def _timing(response) -> tuple[float, int]:
    match = TIMING.match(response.headers["Server-Timing"])
    assert match, response.headers["Server-Timing"]
    return float(match.group(1)), int(match.group(2))


def test_server_timing_is_off_unless_configured(app, client):
    assert not app.config["STEWARD_SERVER_TIMING"]
    response = client.get("/health")
    assert response.status_code in (200, 503)
    assert "Server-Timing" not in response.headers


def test_health_check_reports_its_one_statement(timing_on, client):
    response = client.get("/health")
    milliseconds, statements = _timing(response)
    assert statements == 1  # SELECT 1
    assert milliseconds >= 0


def test_statement_count_matches_what_the_engine_ran_for_a_page(
    timing_on, as_role, count_statements
):
    owner = as_role("owner")
    with count_statements() as counter:
        response = owner.get("/policies")
    assert response.status_code == 200
    _, statements = _timing(response)
    assert statements == counter.count > 0


def test_an_error_page_carries_the_header_too(timing_on, as_role):
    response = as_role("viewer").get("/policies/999999")
    assert response.status_code == 404
    _, statements = _timing(response)
    assert statements >= 1  # at least loading the logged-in user
