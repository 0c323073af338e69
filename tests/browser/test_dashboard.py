"""A governance lead opens the dashboard in a real browser: every figure is there, a figure
opens its filtered list, and the overdue policy's page offers "Mark reviewed, no changes"."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.dashboard_data import seed_estate

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOT = Path(__file__).resolve().parents[2] / "static" / "screenshots" / "dashboard.png"


def _people() -> dict:
    legal, security = factories.make_group("Legal"), factories.make_group("Security")
    return {
        "admin": factories.make_user("admin", email="ada@example.test", name="Ada Admin"),
        "owner": factories.make_user("owner", email="olivia@example.test", name="Olivia Owner"),
        "approver": factories.make_user(
            "approver", email="lena@example.test", name="Lena Legal", groups=[legal]
        ),
        "security": factories.make_user(
            "approver", email="sam@example.test", name="Sam Security", groups=[security]
        ),
        "viewer": factories.make_user("viewer", email="victor@example.test", name="Victor Viewer"),
    }


def test_governance_lead_reads_the_dashboard_and_follows_a_figure(
    app, browser_page: Page, tmp_path
):
    with app.app_context():
        estate = seed_estate(_people(), extra_people=7)
    page = browser_page
    log_in(page, "ada@example.test")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Governance dashboard")).to_be_visible()
    expect(page.locator("#dash-status-published")).to_have_text("5")
    expect(page.locator("#dash-overdue-count")).to_have_text("1")
    expect(page.locator("#dash-due-count")).to_have_text("2")
    expect(page.locator("#dash-approvals-count")).to_have_text("6")
    expect(page.locator("#dash-exceptions-count")).to_have_text("2")
    expect(page.get_by_role("link", name="Code of Conduct")).to_be_visible()
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000

    page.locator("#dash-overdue-count").click()
    expect(page).to_have_url(re.compile(r"/policies\?review=overdue"))
    row = page.locator(f"#policy-row-{estate.overdue_id}")
    expect(row.locator(".badge.review-overdue")).to_have_text("Review overdue")
    expect(row.locator(".badge.status-published")).to_be_visible()
    row.get_by_role("link", name="Information Security Policy").click()
    panel = page.locator("#policy-review")
    expect(panel).to_contain_text("Overdue since")
    panel.get_by_label("Review note (optional)").fill("Checked against ISO 27001:2022; no change.")
    panel.get_by_role("button", name="Mark reviewed, no changes").click()
    expect(page.get_by_text(re.compile(r"Review recorded\. Next review:"))).to_be_visible()
    expect(page.locator("#policy-review")).to_contain_text("Reviewed, no changes")
    expect(page.locator(".head-badges .review-overdue")).to_have_count(0)

    if UPDATE_SCREENSHOTS:
        shutil.copyfile(tmp_path / "dashboard.png", SCREENSHOT)
