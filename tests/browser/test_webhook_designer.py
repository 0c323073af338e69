"""An admin edits an outbound webhook step in the designer in a real browser: the secret
header stays masked, a new header and a body template are added, and the save keeps the secret;
the step's form at 1366 px and 390 px wide."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.engine.models import WorkflowVersion
from governance.extensions import db
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "screenshots"
TOKEN = "Bearer s3cr3t-token-4711"


def test_an_admin_adds_a_header_and_a_body_and_the_secret_header_is_kept(
    app, loopback_webhooks, browser_page: Page, tmp_path
):
    with app.app_context():
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        config = {
            "url": "http://127.0.0.1:9/tickets",
            "headers": [{"name": "Authorization", "value": TOKEN, "secret": True}],
        }
        workflow_id = factories.make_workflow(
            admin,
            name="Open a ticket",
            trigger={"type": "manual"},
            stages=[[factories.step("ticket", "webhook", config)]],
        ).id
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{workflow_id}/edit")

    step = page.locator("#step-0-0")
    secret = step.get_by_label("Value of header 1", exact=True)
    expect(secret).to_have_attribute("type", "password")
    expect(secret).to_have_value("")
    expect(secret).to_have_attribute("placeholder", "Saved; leave empty to keep it")
    expect(page.locator("body")).not_to_contain_text("s3cr3t")
    step.get_by_label("Method").select_option("PUT")
    step.get_by_label("Name of header 2", exact=True).fill("X-Team")
    step.get_by_label("Value of header 2", exact=True).fill("grc")
    step.get_by_label("Body (JSON template)").fill('{"title": {{ policy.title }}}')
    step.get_by_label("Expected status codes").fill("200, 201")
    page.get_by_role("button", name="Save version").click()

    # A value outside quotes: told where, on the field; nothing saved.
    expect(step.locator(".error")).to_contain_text("write a template value as {{ … | tojson }}")
    expect(step.get_by_label("Name of header 2", exact=True)).to_have_value("X-Team")
    step.screenshot(path=tmp_path / "webhook-step-designer.png")
    step.get_by_label("Body (JSON template)").fill('{"title": {{ policy.title | tojson }}}')
    page.get_by_role("button", name="Save version").click()

    expect(page).to_have_url(re.compile(rf"/workflows/{workflow_id}$"))
    expect(page.get_by_text("Saved version 2")).to_be_visible()
    with app.app_context():
        saved = db.session.scalars(
            sa.select(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.number.desc())
        ).first()
        assert saved is not None
        saved_config = saved.definition["stages"][0]["steps"][0]["config"]
    assert saved_config["method"] == "PUT"
    assert saved_config["expected_status"] == "200, 201"
    assert saved_config["headers"] == [
        {"name": "Authorization", "value": TOKEN, "secret": True},
        {"name": "X-Team", "value": "grc", "secret": False},
    ]

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/workflows/{workflow_id}/edit")
    page.locator("#step-0-0").screenshot(path=tmp_path / "webhook-step-designer-390.png")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the designer scrolls sideways at 390 px ({width} px wide)"

    if UPDATE_SCREENSHOTS:
        for name in ("webhook-step-designer.png", "webhook-step-designer-390.png"):
            shutil.copyfile(tmp_path / name, SCREENSHOTS / name)
