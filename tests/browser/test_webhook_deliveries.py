"""An admin reads a webhook step's deliveries on the execution page in a real browser, opens a
request and its response, and redelivers it; at 1366 px and at 390 px wide."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.integration.conftest import receiver  # noqa: F401  (a real HTTP receiver)

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "screenshots"
TOKEN = "Bearer s3cr3t-token-4711"


def _executed_webhook(app, receiver) -> int:  # noqa: F811
    from governance.workflows import service as workflows

    with app.app_context():
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        owner = factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
        config = {
            "url": receiver.url("/tickets"),
            "method": "POST",
            "headers": [
                {"name": "X-Team", "value": "grc"},
                {"name": "Authorization", "value": TOKEN, "secret": True},
            ],
            "body": '{\n  "title": {{ policy.title | tojson }},\n  "kind": "review"\n}',
            "expected_status": "200, 201",
        }
        retry = {"attempts": 3, "backoff": "fixed", "base_seconds": 0}
        workflow = factories.make_workflow(
            admin,
            name="Open a ticket",
            trigger={"type": "manual"},
            stages=[[factories.step("ticket", "webhook", config, retry=retry)]],
        )
        policy = factories.make_policy(owner, title="Access control")
        receiver.answer(503, b"busy, try later", **{"Content-Type": "text/plain"})
        answer = {"ticket": {"id": "T-42", "url": "https://tickets.example/T-42"}}
        receiver.answer(201, json.dumps(answer).encode(), **{"Content-Type": "application/json"})
        execution_id = workflows.run_manually(workflow.id, policy_id=policy.id, actor=admin)
        factories.run_queued_steps()
        return execution_id


def test_an_admin_reads_the_deliveries_and_redelivers(
    app,
    loopback_webhooks,
    receiver,  # noqa: F811
    browser_page: Page,
    tmp_path,
):
    execution_id = _executed_webhook(app, receiver)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "ada@example.test")
    page.goto(f"/executions/{execution_id}")

    deliveries = page.get_by_role("region", name="Deliveries")
    expect(deliveries.locator(".delivery")).to_have_count(2)
    first, second = deliveries.locator(".delivery").all()
    expect(first).to_contain_text("HTTP 503")
    expect(first).to_contain_text("Attempt 1")
    expect(second).to_contain_text("HTTP 201")
    second.get_by_text("Request and response").click()
    expect(second.locator("pre").first).to_contain_text('"title": "Access control"')
    expect(second).to_contain_text("[hidden]")
    expect(second).to_contain_text("T-42")
    expect(page.locator("body")).not_to_contain_text("s3cr3t")
    page.screenshot(path=tmp_path / "webhook-deliveries.png", full_page=True)

    receiver.answer(201)
    deliveries.get_by_role("button", name="Redeliver").click()

    expect(page.get_by_text("Redelivered: HTTP 201.")).to_be_visible()
    expect(deliveries.locator(".delivery")).to_have_count(3)
    expect(deliveries.locator(".delivery").last).to_contain_text("Redelivered by Ada Admin")
    assert len(receiver.requests) == 3
    assert receiver.requests[2].body == receiver.requests[1].body
    expect(page.locator(".step-head .badge").first).to_have_text(re.compile("Succeeded"))

    page.set_viewport_size({"width": 390, "height": 844})
    opened = deliveries.locator(".delivery").last.locator("details")
    opened.locator("summary").click()
    expect(opened).to_have_attribute("open", "")
    page.screenshot(path=tmp_path / "webhook-deliveries-390.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"

    if UPDATE_SCREENSHOTS:
        for name in ("webhook-deliveries.png", "webhook-deliveries-390.png"):
            shutil.copyfile(tmp_path / name, SCREENSHOTS / name)
