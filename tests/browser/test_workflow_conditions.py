"""An admin builds "status in review AND (category Security OR tags contain pci)" in the
designer, watching the sentence follow, inserts a variable into a template and sees its
preview update for a chosen policy, saves, and reads the sentence on the workflow page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "screenshots"
SENTENCE = "status is in review AND (category is Security OR tags contain pci)"


def _screenshots(page: Page, folder: Path) -> None:
    """The conditions and the template tools at 1366 and 390 px wide (the README's sizes)."""
    for width, suffix in ((1366, ""), (390, "-390")):
        page.set_viewport_size({"width": width, "height": 900})
        page.locator("#conditions").screenshot(
            path=str(folder / f"designer-conditions{suffix}.png")
        )
        page.locator("#step-0-0").screenshot(path=str(folder / f"designer-template{suffix}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def _settle(page: Page) -> None:
    """Let htmx finish swapping the designer before the next click."""
    page.wait_for_timeout(300)


def test_admin_builds_a_grouped_condition_and_previews_a_template(
    app, browser_page: Page, tmp_path
):
    with app.app_context():
        factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
        factories.make_policy(owner, title="Card Data Handling", tags="pci")
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto("/workflows/new")
    page.get_by_label("Name").fill("Security review")

    page.get_by_role("button", name="+ Add condition").click()
    _settle(page)
    page.locator("#cond-0-field").fill("policy.status")
    page.locator("#cond-0-value").fill("in_review")
    page.get_by_role("button", name="+ Add group (AND/OR)").click()
    _settle(page)
    page.locator("#cond-1-0-value").fill("Security")
    page.get_by_role("button", name="+ Add condition to group 2").click()
    _settle(page)
    page.locator("#cond-1-1-field").fill("policy.tags")
    page.locator("#cond-1-1-op").select_option("contains")
    page.locator("#cond-1-1-value").fill("pci")
    # The sentence follows the form as it is typed, without a button.
    expect(page.locator("#conditions-words")).to_contain_text(SENTENCE)

    page.get_by_label("Type").select_option("notify")
    _settle(page)
    page.locator("#stage-0-step-0-key").fill("tell")
    page.get_by_label("The policy owner").check()
    subject = page.locator("#stage-0-step-0-cfg-subject")
    subject.fill("Review: ")
    tools = page.locator("#stage-0-step-0-cfg-subject-tools")
    tools.get_by_text("Insert variable").click()
    tools.get_by_role("button", name="Insert policy.title").click()
    expect(subject).to_have_value("Review: {{ policy.title }}")
    tools.get_by_label("Preview with").select_option(label="Card Data Handling · Draft")
    preview = page.locator("#stage-0-step-0-cfg-subject-preview")
    expect(preview).to_contain_text("Review: Card Data Handling")
    subject.press("End")
    subject.press_sequentially(" ({{ policy.status }})")
    expect(preview).to_contain_text("Review: Card Data Handling (draft)")
    subject.press_sequentially(" {{ policy.nope }}")
    expect(preview.locator(".template-error")).to_contain_text("a policy has no field nope")
    subject.fill("Review: {{ policy.title }}")
    expect(preview).to_contain_text("Review: Card Data Handling")
    _screenshots(page, SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path)

    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_text("Saved version 1")).to_be_visible()
    expect(page.locator("dd#conditions-words")).to_have_text(f"Starts only when {SENTENCE}")
