"""What a person sees of who published a policy and who approved it, and of an overdue approval
step that was escalated (issue 15)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.approvals.models import ApprovalRequest
from governance.engine import reconciler
from governance.extensions import db
from governance.policies import lifecycle
from governance.timeutil import utcnow
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser


def test_a_reader_sees_who_published_the_version_and_who_approved_it(app, browser_page: Page):
    with app.app_context():
        owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        factories.make_user("viewer", email="victor@example.test", name="Victor Viewer")
        factories.make_policy(owner, lifecycle.PUBLISHED, admin=admin, title="Travel")
    page = browser_page
    log_in(page, "victor@example.test")

    page.get_by_role("link", name="Travel").click()

    line = page.locator("#published-version")
    expect(line).to_contain_text("Published v1.0")
    expect(line.locator(".published-by")).to_have_text("Omar Owner")
    expect(line.locator(".approved-by")).to_have_text("Ada Admin")
    line.get_by_role("link", name="v1.0", exact=True).click()
    expect(page.get_by_text("Approved by")).to_be_visible()
    expect(page.locator("dd", has_text="Ada Admin")).to_be_visible()


def test_an_approver_sees_the_escalation_on_the_inbox_item_and_the_timeline(
    app, browser_page: Page
):
    with app.app_context():
        security = factories.make_group("Security")
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
        lena = factories.make_user("approver", email="lena@example.test", name="Lena Legal")
        factories.make_workflow(
            admin,
            name="Vendor review",
            trigger={"type": "policy.status_changed", "to_status": "in_review"},
            stages=[
                [
                    factories.step(
                        "review",
                        "approval",
                        {"users": [lena.id], "due_hours": 24, "escalate_group_id": security.id},
                    )
                ]
            ],
        )
        factories.submit_for_review({"owner": owner}, title="Vendor Access")
        db.session.execute(
            sa.update(ApprovalRequest).values(due_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
        assert reconciler.reconcile()["approvals_escalated"] == 1
        at = db.session.scalars(sa.select(ApprovalRequest)).one().escalated_at
    # Relative, with the exact time (in the browser's zone, UTC in the test browser) on hover.
    shown = re.compile(r"escalated to Security (just now|\d+ min ago)")
    page = browser_page
    log_in(page, "lena@example.test")

    page.goto("/approvals")
    item = page.locator("article.inbox-item").filter(has_text="Vendor Access")
    expect(item).to_contain_text(shown)
    exact = re.escape(f"{at.day} {at:%b %Y, %H:%M} UTC")
    expect(item.locator(".escalation time")).to_have_attribute("title", re.compile(exact))
    item.get_by_role("link", name="Vendor review").click()

    expect(page.locator("#execution-timeline, main").first).to_contain_text(shown)
