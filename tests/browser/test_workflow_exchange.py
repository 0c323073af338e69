"""An admin compares two versions of a workflow from its page (two selects, no JavaScript
needed) and reads what changed in words; then starts a workflow from the template gallery."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from governance.engine.models import WorkflowVersion
from governance.extensions import db
from governance.workflows import service as workflows
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "screenshots"


def _two_versions() -> int:
    """A workflow whose version 2 adds Security to the Legal approval and a publish stage."""
    legal, security = factories.make_group("Legal"), factories.make_group("Security")
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    workflow = factories.make_workflow(
        admin,
        name="Review on submit",
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[factories.step("legal", "approval", {"groups": [legal.id]})]],
    )
    definition = db.session.get_one(WorkflowVersion, workflow.active_version_id).definition
    definition = definition | {
        "stages": [
            {"steps": [factories.step("legal", "approval", {"groups": [legal.id, security.id]})]},
            {"steps": [factories.step("publish", "set_status", {"status": "published"})]},
        ]
    }
    workflows.save_workflow(
        workflow.id, name=workflow.name, description="", definition=definition, actor=admin
    )
    return workflow.id


def _screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """The page at 1366 px and at 390 px wide (a phone), kept when asked to update them."""
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        # The README's names: NAME.png at 1366 px, NAME-390.png on a phone.
        shot = tmp_path / (f"{name}.png" if width == 1366 else f"{name}-{width}.png")
        page.screenshot(path=str(shot), full_page=True)
        if UPDATE_SCREENSHOTS:
            shutil.copyfile(shot, SCREENSHOTS / shot.name)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_admin_compares_two_versions_and_reads_the_changes(app, browser_page, tmp_path):
    with app.app_context():
        workflow_id = _two_versions()
    page = browser_page
    log_in(page, "ada@example.test")

    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Review on submit").click()
    form = page.locator("#compare-form")
    form.get_by_label("From version").select_option("1")
    form.get_by_label("To version").select_option("2")
    form.get_by_role("button", name="Compare").click()

    expect(page).to_have_url(re.compile(rf"/workflows/{workflow_id}/compare\?from=1&to=2$"))
    expect(page.get_by_role("heading", name="Compare version 1 with 2")).to_be_visible()
    changes = page.locator("#version-changes")
    expect(changes).to_contain_text(
        "Step legal: approver groups changed from Legal to Legal, Security."
    )
    expect(changes).to_contain_text("Stage 2 added with step publish.")
    expect(page.locator("#definition-diff .diff-insert").first).to_be_visible()
    _screenshot(page, tmp_path, "workflow-compare")

    # The versions table links each version to the one before it.
    page.goto(f"/workflows/{workflow_id}")
    page.get_by_role("link", name="Compare version 2 with version 1").click()
    expect(page.locator("#version-changes")).to_contain_text("Stage 2 added with step publish.")


def test_admin_starts_a_draft_from_the_gallery(app, browser_page, tmp_path):
    with app.app_context():
        factories.make_group("Legal")
        factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    page = browser_page
    log_in(page, "ada@example.test")

    page.goto("/workflows")
    page.get_by_role("link", name="New from template").click()
    expect(page.locator("#template-gallery > li")).to_have_count(5)
    _screenshot(page, tmp_path, "workflow-gallery")
    page.get_by_role("link", name=re.compile(r"^Use this template\W+Review on submit$")).click()
    expect(page.get_by_label("Group for “Legal”")).to_have_value(re.compile(r"^\d+$"))
    page.get_by_label("Name").fill("Legal review")
    page.get_by_role("button", name="Create the draft").click()

    expect(page.get_by_role("heading", name="Legal review")).to_be_visible()
    expect(page.locator(".flashes")).to_contain_text("Created the draft “Legal review”")
    _screenshot(page, tmp_path, "workflow-show-exchange")
