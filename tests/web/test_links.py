"""Absolute links for what is read outside the app come from STEWARD_BASE_URL, with or without
a request, and never from the Host header a client sent."""

from __future__ import annotations

from governance.links import absolute_link, absolute_url


def test_absolute_urls_outside_a_request_use_the_base_url_and_its_path(app, monkeypatch):
    monkeypatch.setitem(app.config, "STEWARD_BASE_URL", "https://steward.example.org/gov")
    with app.app_context():
        assert absolute_url("executions.show", execution_id=7) == (
            "https://steward.example.org/gov/executions/7"
        )
        assert absolute_link("/approvals") == "https://steward.example.org/gov/approvals"


def test_a_requests_host_header_never_reaches_an_absolute_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "STEWARD_BASE_URL", "https://steward.example.org")
    with app.test_request_context("/", headers={"Host": "attacker.example"}):
        assert absolute_url("approvals.index") == "https://steward.example.org/approvals"


def test_the_workflow_page_shows_the_inbound_webhook_at_the_base_url(app, as_role, monkeypatch):
    from tests import factories

    monkeypatch.setitem(app.config, "STEWARD_BASE_URL", "https://steward.example.org")
    admin = as_role("admin")
    workflow = factories.make_workflow(
        factories.make_user("admin"),
        trigger={"type": "webhook"},
        stages=[[factories.step("approve", "set_status", {"status": "approved"})]],
    )
    html = admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert f"https://steward.example.org/hooks/{workflow.id}" in html
