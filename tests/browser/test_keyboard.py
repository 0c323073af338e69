"""An approver clears the inbox with the keyboard alone: Tab to a request's comment, type, Tab to
Approve and press Enter; Reject without a reason, correct it where the focus lands, reject;
delegate one from its page; then tick two requests with Space and approve them together. After a
decision in place the focus stays with the decided item, not back at the top of the page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from governance.approvals.models import ApprovalRequest
from governance.extensions import db
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

TITLES = ("Clean Desk", "Data Retention", "Remote Work", "Travel", "Visitors")
# More Tab presses than any page here has stops before the control wanted.
MAX_TABS = 80


def _three_waiting_requests(users) -> None:
    factories.make_workflow(
        users["admin"],
        name="Legal review",
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[factories.step("legal", "approval", {"users": [users["approver"].id]})]],
    )
    for title in TITLES:
        factories.submit_for_review(users, title=title)


def _is_focused(target: Locator) -> bool:
    return target.evaluate("element => element === document.activeElement")


def _tab_to(page: Page, target: Locator, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if _is_focused(target):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{MAX_TABS} presses of {key} never reached {target}")


def _statuses() -> dict[str, str]:
    db.session.expire_all()
    return {
        request.execution.policy.title: request.status
        for request in db.session.scalars(sa.select(ApprovalRequest))
    }


def test_an_approver_approves_one_request_and_two_in_bulk_with_the_keyboard_only(
    app, users, browser_page: Page
):
    with app.app_context():
        _three_waiting_requests(users)
    page = browser_page
    log_in(page, users["approver"].email)
    page.goto("/approvals")
    expect(page.locator("article.inbox-item")).to_have_count(5)

    first = page.locator("article.inbox-item", has_text="Clean Desk")
    _tab_to(page, first.get_by_label("Comment"))
    page.keyboard.type("Reads well.")
    _tab_to(page, first.get_by_role("button", name="Approve"))
    page.keyboard.press("Enter")
    done = page.locator(".inbox-item-done", has_text="Clean Desk")
    expect(done).to_contain_text("Approved")
    # The focus is on the decided item, so the next Tab goes on to the next request.
    expect(done).to_be_focused()

    second = page.locator("#inbox-results article", has_text="Data Retention")
    _tab_to(page, second.get_by_role("button", name="Reject"))
    page.keyboard.press("Enter")
    # Refused without a reason: the comment is focused, marked and described by the error.
    comment = second.get_by_label("Comment")
    expect(comment).to_be_focused()
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_have_accessible_description(re.compile("reason"))
    page.keyboard.type("Too vague.")
    _tab_to(page, second.get_by_role("button", name="Reject"))
    page.keyboard.press("Enter")
    expect(page.locator(".inbox-item-done", has_text="Data Retention")).to_contain_text("Rejected")

    third = page.locator("article.inbox-item", has_text="Remote Work")
    _tab_to(page, third.get_by_role("link", name="Delegate…"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Delegate an approval")).to_be_visible()
    _tab_to(page, page.get_by_label("Delegate to"))
    page.keyboard.press("ArrowDown")  # a focused select moves to the next option
    expect(page.get_by_label("Delegate to")).not_to_have_value("0")
    _tab_to(page, page.get_by_label("Reason"))
    page.keyboard.type("On leave this week.")
    _tab_to(page, page.get_by_role("button", name="Delegate"))
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Delegated to")
    page.goto("/approvals")

    for title in TITLES[3:]:
        box = page.get_by_role("checkbox", name=f"Select “{title}” for bulk approval")
        _tab_to(page, box)
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    # The bulk bar sits above the list: back up to its button.
    _tab_to(page, page.get_by_role("button", name="Approve selected"), key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("2")
    expect(page.locator("article.inbox-item")).to_have_count(0)  # the delegated one is elsewhere

    with app.app_context():
        assert _statuses() == {
            "Clean Desk": "approved",
            "Data Retention": "rejected",
            "Remote Work": "pending",
            "Travel": "approved",
            "Visitors": "approved",
        }


def test_a_link_in_the_live_queue_figures_keeps_the_focus_while_they_refresh(
    app, users, browser_page: Page
):
    from governance.queues.models import JobRecord, JobStatus
    from governance.timeutil import utcnow

    with app.app_context():
        db.session.add(
            JobRecord(
                task_id="failed-once",
                task_name="steward.run_step",
                status=JobStatus.ERROR,
                error="ConnectionError",
                finished_at=utcnow(),
            )
        )
        db.session.commit()
    page = browser_page
    log_in(page, users["admin"].email)
    page.goto("/admin/queues")
    link = page.get_by_role("link", name="All failed jobs →")
    _tab_to(page, link)
    clock = page.locator(".live-indicator")
    before = clock.inner_text()
    # The figures swap themselves in every 2 s; the clock in them shows that one swap happened.
    expect(clock).not_to_have_text(before, timeout=10_000)
    expect(page.get_by_role("link", name="All failed jobs →")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/queues/failed$"))
