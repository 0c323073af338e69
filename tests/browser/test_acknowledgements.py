"""A viewer acknowledges a policy in one browser while an admin watches its campaign page in
another: the admin's percentage and lists change without a reload."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from governance.acknowledgements import service as acks
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOT = Path(__file__).resolve().parents[2] / "static" / "screenshots" / "acknowledgements.png"
# The campaign page polls every 3 s; a generous margin for a loaded machine.
POLL_TIMEOUT_MS = 10_000


def _policy_to_acknowledge() -> tuple[int, int]:
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
    factories.make_user("viewer", email="victor@example.test", name="Victor Viewer")
    factories.make_user("approver", email="lena@example.test", name="Lena Legal")
    policy = factories.make_policy(
        owner,
        status="published",
        admin=admin,
        title="Acceptable Use",
        body="# Acceptable Use\n\nUse company systems for work.\n",
    )
    campaign_id = acks.update_settings(
        policy.id, acks.AckSettings(required=True, everyone=True, group_ids=[]), actor=owner
    )
    return policy.id, campaign_id


def test_viewer_acknowledges_and_the_campaign_page_updates_without_reload(
    app, browser_page: Page, new_page, tmp_path
):
    with app.app_context():
        policy_id, campaign_id = _policy_to_acknowledge()

    admin_page = browser_page
    log_in(admin_page, "ada@example.test")
    admin_page.goto(f"/policies/{policy_id}/acknowledgements")
    percent = admin_page.locator(f"#ack-percent-{campaign_id}")
    expect(percent).to_have_text("0%")
    expect(admin_page.get_by_text("0 of 4 acknowledged")).to_be_visible()
    admin_page.evaluate("window.__noReload = true")

    viewer_page = new_page(viewport={"width": 1280, "height": 800})
    log_in(viewer_page, "victor@example.test")
    expect(viewer_page.locator("#nav-ack-count .nav-badge")).to_have_text("1")
    viewer_page.get_by_role("link", name=re.compile(r"^To acknowledge")).click()
    # Wait for the list: the page before it links the policy under the same name.
    expect(viewer_page).to_have_url(re.compile(r"/acknowledgements$"))
    viewer_page.get_by_role("link", name="Acceptable Use").click()
    expect(viewer_page).to_have_url(re.compile(r"/acknowledgements/\d+$"))
    expect(viewer_page.get_by_text("Use company systems for work.")).to_be_visible()
    viewer_page.get_by_role("button", name="I have read and understood").click()
    expect(viewer_page.get_by_text("your acknowledgement is recorded")).to_be_visible()
    expect(viewer_page.locator("#nav-ack-count .nav-badge")).to_have_count(0)

    expect(percent).to_have_text("25%", timeout=POLL_TIMEOUT_MS)
    expect(admin_page.get_by_text("1 of 4 acknowledged")).to_be_visible()
    acknowledged = admin_page.get_by_role("region", name="Acknowledged")
    expect(acknowledged.get_by_role("cell", name="Victor Viewer")).to_be_visible()
    assert admin_page.evaluate("window.__noReload") is True

    admin_page.screenshot(path=tmp_path / "acknowledgements.png", full_page=True)
    assert (tmp_path / "acknowledgements.png").stat().st_size > 10_000
    # The README's screenshot is regenerated on purpose only, never by an ordinary run.
    if UPDATE_SCREENSHOTS:
        shutil.copyfile(tmp_path / "acknowledgements.png", SCREENSHOT)
