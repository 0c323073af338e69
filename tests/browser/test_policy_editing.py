"""What a person does with policies in a real browser: write, revise, compare, submit, search;
and an admin deactivating a user. Every page runs under the app's CSP with htmx."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.auth.models import User
from governance.extensions import db
from governance.policies.models import Policy, PolicyRevision
from tests import factories

pytestmark = pytest.mark.browser


def log_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/policies$"))
    expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()


def open_admin_page(page: Page, name: str) -> None:
    """Follow one of the admin pages' links, which sit under the bar's "Admin" menu."""
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Admin", exact=True).click()
    nav.get_by_role("link", name=name, exact=True).click()


def test_owner_creates_edits_compares_and_submits_a_policy(app, browser_page: Page, tmp_path):
    with app.app_context():
        factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
    page = browser_page
    log_in(page, "olivia@example.test")

    page.get_by_role("link", name="New policy").click()
    expect(page.get_by_role("heading", name="New policy")).to_be_visible()
    page.get_by_label("Title").fill("Vendor Onboarding")
    page.get_by_label("Category").fill("Procurement")
    page.get_by_label("Text (Markdown)").fill(
        "# Purpose\n\nVendors are checked **before** signing.\n\n- Due diligence within 30 days\n"
    )
    page.get_by_label("Tags").fill("vendors, third parties")
    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_role("heading", name="Vendor Onboarding")).to_be_visible()
    expect(page.get_by_text("Policy created as a draft.")).to_be_visible()
    expect(page.locator(".head-badges .badge")).to_have_text("Draft")
    # The Markdown was rendered, not shown as source.
    expect(page.locator("article.policy-body strong")).to_have_text("before")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit policy")).to_be_visible()
    page.get_by_label("Text (Markdown)").fill(
        "# Purpose\n\nVendors are checked **before** signing.\n\n- Due diligence within 14 days\n"
    )
    page.get_by_label("Change summary").fill("Shortened the due diligence window")
    page.get_by_role("button", name="Save revision").click()
    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()
    expect(page.get_by_text("Shortened the due diligence window")).to_be_visible()

    page.get_by_role("link", name="Compare last two").click()
    expect(page.get_by_role("heading", name="Compare revision 1 with 2")).to_be_visible()
    changed = page.locator("#diff tr.diff-replace")
    expect(changed).to_have_count(1)
    expect(changed.locator("del")).to_have_text("30")
    expect(changed.locator("ins")).to_have_text("14")
    expect(page.get_by_text("1 changed line in the text.")).to_be_visible()

    # Back to the policy through the browser's history, as a person would.
    page.go_back()
    expect(page.get_by_role("heading", name="Vendor Onboarding")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("“Vendor Onboarding” is now in review.")).to_be_visible()
    expect(page.locator(".head-badges .badge")).to_have_text("In review")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)

    screenshot = tmp_path / "policy-in-review.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.exists()
    assert screenshot.stat().st_size > 10_000

    with app.app_context():
        policy = db.session.scalars(sa.select(Policy)).one()
        revisions = db.session.scalar(
            sa.select(sa.func.count()).where(PolicyRevision.policy_id == policy.id)
        )
        assert (policy.title, policy.status, revisions) == ("Vendor Onboarding", "in_review", 2)


def test_policy_search_updates_results_as_you_type_and_works_without_javascript(
    app, browser_page: Page, new_page
):
    with app.app_context():
        owner = factories.make_user("owner", email="owner@example.test")
        for number in range(1, 28):
            factories.make_policy(owner, title=f"Routine policy {number:02d}")
        for title in ("Vendor Onboarding", "Vendor Offboarding", "Vendor Risk Scoring"):
            factories.make_policy(owner, title=title, category="Procurement")
    page = browser_page
    log_in(page, "owner@example.test")
    results = page.locator("#policy-results")
    expect(results.locator(".count")).to_have_text("30 policies")
    expect(results.locator("tbody tr")).to_have_count(25)

    # A full page load would wipe this; an htmx swap of the results region keeps it.
    page.evaluate("window.stewardTestMarker = 'still here'")
    page.get_by_label("Search").press_sequentially("vendor", delay=20)

    expect(results.locator(".count")).to_have_text("3 policies matching “vendor”")
    expect(results.locator("tbody tr")).to_have_count(3)
    expect(results.get_by_role("link", name="Vendor Risk Scoring")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=vendor(&|$)"))
    assert page.evaluate("window.stewardTestMarker") == "still here"

    # Without JavaScript the same form is a plain GET that the Filter button submits.
    plain = new_page(java_script_enabled=False)
    log_in(plain, "owner@example.test")
    plain.get_by_label("Search").fill("offboarding")
    plain.get_by_role("button", name="Filter").click()
    expect(plain).to_have_url(re.compile(r"[?&]q=offboarding(&|$)"))
    plain_results = plain.locator("#policy-results")
    expect(plain_results.locator(".count")).to_have_text("1 policy matching “offboarding”")
    expect(plain_results.locator("tbody tr")).to_have_text(re.compile("Vendor Offboarding"))


def test_admin_deactivates_a_user_from_the_users_page(app, browser_page: Page):
    with app.app_context():
        factories.make_user("admin", email="admin@example.test", name="Ada Admin")
        leaver = factories.make_user("owner", email="leaver@example.test", name="Leo Leaver")
        leaver_id = leaver.id
    page = browser_page
    log_in(page, "admin@example.test")

    open_admin_page(page, "Users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    row = page.locator(f"#user-row-{leaver_id}")
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Deactivate").click()

    expect(page.get_by_text("leaver@example.test deactivated")).to_be_visible()
    expect(row).to_contain_text("Deactivated")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()
    with app.app_context():
        assert db.session.get(User, leaver_id).is_enabled is False
