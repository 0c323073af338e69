"""Approval integrity in a real browser: Priya, in Legal and Security, approves one request of a
quorum step in place; the step's other request then tells her she already decided and offers
no buttons. An admin on a policy a review workflow is still deciding finds the reason and a
link to that execution instead of the Approve button."""

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


def _quorum_review() -> tuple[int, int]:
    legal, security = factories.make_group("Legal"), factories.make_group("Security")
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    factories.make_user("approver", email="lena@example.test", name="Lena Legal", groups=[legal])
    factories.make_user(
        "approver", email="priya@example.test", name="Priya Partner", groups=[legal, security]
    )
    owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
    make_workflow(
        admin,
        name="Two-person review",
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[
            [
                step(
                    "review",
                    "approval",
                    {"groups": [legal.id, security.id], "rule": "quorum", "quorum": 2},
                )
            ],
            [step("approve", "set_status", {"status": "approved"})],
        ],
    )
    policy = factories.make_policy(owner, title="Vendor Access", body="# Vendors\n\nRules.\n")
    policies.transition_policy(policy.id, "in_review", actor=owner)
    run_queued_steps()
    return policy.id, db.session.scalar(sa.select(sa.func.max(Execution.id)))


def test_one_person_decides_one_request_of_a_step_and_the_gate_shows_why(
    app, browser_page: Page, new_page, tmp_path
):
    with app.app_context():
        policy_id, execution_id = _quorum_review()
    page = browser_page
    log_in(page, "priya@example.test")
    page.goto("/approvals")
    items = page.locator("article.inbox-item")
    expect(items).to_have_count(2)
    first, second = items.nth(0), items.nth(1)
    second_id = second.get_attribute("id")
    first.get_by_role("button", name="Approve").click()
    expect(page.locator(".inbox-item-done")).to_contain_text("still waits for other approvers")
    # The other request, still on screen from before: trying it answers why, in place.
    page.locator(f"#{second_id}").get_by_role("button", name="Approve").click()
    expect(page.locator(f"#{second_id}")).to_contain_text("You already decided this step")
    expect(page.locator(f"#{second_id}").get_by_role("button", name="Approve")).to_have_count(0)
    page.reload()
    remaining = page.locator("article.inbox-item")
    expect(remaining).to_have_count(1)
    expect(remaining).to_contain_text("You already decided this step")
    expect(remaining.get_by_role("button")).to_have_count(0)
    page.screenshot(path=tmp_path / "inbox-already-decided.png", full_page=True)

    admin = new_page(viewport={"width": 1280, "height": 800})
    log_in(admin, "ada@example.test")
    admin.goto(f"/policies/{policy_id}")
    gate = admin.locator("#lifecycle-gate")
    expect(gate).to_contain_text("“Two-person review” is still deciding this policy's review")
    expect(admin.get_by_role("button", name="Approve")).to_have_count(0)
    expect(admin.get_by_role("button", name="Request changes")).to_be_visible()
    admin.screenshot(path=tmp_path / "policy-gate.png", full_page=True)
    gate.get_by_role("link", name=f"execution {execution_id}").click()
    expect(admin.get_by_role("heading", name=re.compile("Two-person review"))).to_be_visible()
    assert (tmp_path / "policy-gate.png").stat().st_size > 10_000
