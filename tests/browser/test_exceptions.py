"""A policy exception in a real browser: the owner requests one (a bad date first), an approver
approves it from the inbox, it shows as active on the policy page, the owner revokes it, and
the exceptions list filters by status without a reload."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.factories import make_workflow, run_queued_steps, step

pytestmark = pytest.mark.browser


def _published_policy_with_exception_workflow() -> int:
    security = factories.make_group("Security")
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    factories.make_user(
        "approver", email="sam@example.test", name="Sam Security", groups=[security]
    )
    owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
    make_workflow(
        admin,
        name="Exception approval",
        trigger={"type": "exception.requested"},
        stages=[[step("security", "approval", {"groups": [security.id]})]],
    )
    return factories.make_policy(owner, "published", admin=admin, title="Information Security").id


def test_owner_requests_approver_approves_owner_revokes(
    app, browser_page: Page, new_page, tmp_path
):
    from governance.timeutil import utcnow

    with app.app_context():
        policy_id = _published_policy_with_exception_workflow()
    today = utcnow().date()
    page = browser_page
    log_in(page, "omar@example.test")
    page.goto(f"/policies/{policy_id}")
    expect(page.locator("#policy-exceptions")).to_contain_text("No active or pending exceptions.")
    page.get_by_role("link", name="Request an exception").click()

    expect(page.get_by_role("heading", name="Request an exception")).to_be_visible()
    page.get_by_label("Who or what it covers").fill("Legacy payroll server PAY-01")
    page.get_by_label("Justification").fill("Encryption arrives with release 9.")
    page.get_by_label("Expires on").fill(today.isoformat())
    page.get_by_role("button", name="Request approval").click()
    expect(page.get_by_text("The expiry date must be after today.")).to_be_visible()
    page.screenshot(path=tmp_path / "exception-form.png", full_page=True)
    page.get_by_label("Expires on").fill((today + timedelta(days=20)).isoformat())
    page.get_by_role("button", name="Request approval").click()

    heading = page.get_by_role("heading", name="Exception: Legacy payroll server PAY-01")
    expect(heading).to_be_visible()
    expect(page.locator(".head-badges")).to_have_text("Pending approval")
    with app.app_context():
        run_queued_steps()  # the consumer's part: the approval step asks Security

    approver = new_page(viewport={"width": 1280, "height": 800})
    log_in(approver, "sam@example.test")
    approver.goto("/approvals")
    item = approver.locator("article.inbox-item", has_text="Information Security")
    expect(item.locator(".exception-summary")).to_contain_text("Legacy payroll server PAY-01")
    approver.screenshot(path=tmp_path / "exception-inbox.png", full_page=True)
    item.get_by_role("button", name="Approve").click()
    expect(approver.locator(".inbox-item-done")).to_contain_text("Approved")

    page.goto(f"/policies/{policy_id}")
    panel = page.locator("#policy-exceptions")
    expect(panel).to_contain_text("Legacy payroll server PAY-01")
    expect(panel).to_contain_text("Active")
    expect(panel).to_contain_text("20 days left")
    page.screenshot(path=tmp_path / "exception-policy.png", full_page=True)

    page.get_by_role("link", name="Legacy payroll server PAY-01").click()
    page.get_by_role("button", name="Revoke exception").click()
    expect(page.get_by_text("Give a reason to revoke the exception.")).to_be_visible()
    page.get_by_label("Reason to revoke").fill("Server decommissioned early.")
    page.get_by_role("button", name="Revoke exception").click()
    expect(page.get_by_text("Exception revoked.")).to_be_visible()
    expect(page.locator(".head-badges")).to_have_text("Revoked")
    page.screenshot(path=tmp_path / "exception-revoked.png", full_page=True)

    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.get_by_role("navigation", name="Governance").get_by_role("link", name="Exceptions").click()
    expect(page).to_have_url(re.compile(r"/policy-exceptions$"))
    expect(page.get_by_text("No open (active and pending) exceptions")).to_be_visible()
    page.evaluate("window.__noReload = true")
    page.get_by_label("Status").select_option("revoked")
    expect(page.locator("#exception-results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"status=revoked"))
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=tmp_path / "exceptions-list.png", full_page=True)
