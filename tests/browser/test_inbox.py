"""An approver clears their inbox in a real browser: the badge shows what waits, one item is
approved and another rejected with a comment, in place, while the counts change without a
reload. The person who submitted the change sees no decision buttons anywhere."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.engine.models import Execution
from governance.extensions import db
from governance.policies import service as policies
from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.factories import make_workflow, run_queued_steps, step

pytestmark = pytest.mark.browser

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _two_submitted_changes() -> int:
    legal = factories.make_group("Legal")
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    factories.make_user("approver", email="lena@example.test", name="Lena Legal", groups=[legal])
    owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
    make_workflow(
        admin,
        name="Legal review",
        trigger=SUBMITTED,
        stages=[
            [step("legal", "approval", {"groups": [legal.id], "due_hours": 24})],
            [step("tell", "notify", {"to_owner": True, "subject": "Decided", "body": "Done"})],
        ],
    )
    for title in ("Data Retention", "Clean Desk"):
        policy = factories.make_policy(owner, title=title, body=f"# {title}\n\nThe rule.\n")
        policies.transition_policy(policy.id, "in_review", actor=owner)
    run_queued_steps()
    return db.session.scalar(sa.select(sa.func.min(Execution.id)))


def test_approver_decides_in_place_and_the_submitter_sees_no_buttons(
    app, browser_page: Page, new_page, tmp_path
):
    with app.app_context():
        first_execution = _two_submitted_changes()
    # The owner who submitted both changes: no decision buttons in the inbox, nor on the
    # execution page while its approval waits.
    owner_page = new_page(viewport={"width": 1280, "height": 800})
    log_in(owner_page, "omar@example.test")
    owner_page.goto("/approvals")
    expect(owner_page.locator("article.inbox-item")).to_have_count(0)
    owner_page.goto(f"/executions/{first_execution}")
    expect(owner_page.get_by_role("heading", name=re.compile("Legal review"))).to_be_visible()
    expect(owner_page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(owner_page.get_by_role("button", name="Reject")).to_have_count(0)
    owner_page.screenshot(path=tmp_path / "submitter-execution.png", full_page=True)
    expect(owner_page.get_by_text("Waiting for")).to_be_visible()

    page = browser_page
    log_in(page, "lena@example.test")
    badge = page.locator("#nav-inbox-count .nav-badge")
    expect(badge).to_have_text("2")

    page.get_by_role("link", name=re.compile(r"^Inbox")).click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    waiting = page.locator("#tab-waiting .tab-count")
    expect(waiting).to_have_text("2")
    expect(page.locator("article.inbox-item")).to_have_count(2)
    page.screenshot(path=tmp_path / "inbox.png", full_page=True)
    # A marker on the window survives only if the page is never reloaded.
    page.evaluate("window.__noReload = true")

    retention = page.locator("article.inbox-item", has_text="Data Retention")
    retention.get_by_label("Comment").fill("Reads well.")
    retention.get_by_role("button", name="Approve").click()
    expect(page.locator(".inbox-item-done", has_text="Data Retention")).to_contain_text("Approved")
    expect(waiting).to_have_text("1")
    expect(page.locator("#tab-decided .tab-count")).to_have_text("1")
    expect(badge).to_have_text("1")

    clean_desk = page.locator("article.inbox-item", has_text="Clean Desk")
    clean_desk.get_by_role("button", name="Reject").click()
    expect(page.locator("article.inbox-item", has_text="Clean Desk")).to_contain_text(
        "Give a reason to reject."
    )
    expect(waiting).to_have_text("1")
    clean_desk = page.locator("article.inbox-item", has_text="Clean Desk")
    clean_desk.get_by_label("Comment").fill("Scope is unclear.")
    clean_desk.get_by_role("button", name="Reject").click()
    expect(page.locator(".inbox-item-done", has_text="Clean Desk")).to_contain_text("Rejected")
    expect(waiting).to_have_text("0")
    expect(page.locator("#nav-inbox-count .nav-badge")).to_have_count(0)
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=tmp_path / "inbox-cleared.png", full_page=True)

    with app.app_context():
        statuses = db.session.scalars(sa.select(Execution.status).order_by(Execution.id)).all()
    assert statuses[1] == "rejected"

    assert (tmp_path / "inbox.png").stat().st_size > 10_000
