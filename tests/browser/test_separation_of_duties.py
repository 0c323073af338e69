"""Priya, in Legal and Security, decides one of the two parallel approval steps of a review
whose workflow says one person decides at most one approval step: after she approves Legal,
the Security request shows her why instead of buttons, in the inbox and on the execution."""

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

REASON = "You already decided step “legal” of this execution"


def _review_waiting_for_legal_and_security() -> int:
    legal, security = factories.make_group("Legal"), factories.make_group("Security")
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    factories.make_user(
        "approver", email="priya@example.test", name="Priya Partner", groups=[legal, security]
    )
    owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
    make_workflow(
        admin,
        name="Review on submit",
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        one_step_per_person=True,
        stages=[
            [
                step("legal", "approval", {"groups": [legal.id]}),
                step("security", "approval", {"groups": [security.id]}),
            ]
        ],
    )
    policy = factories.make_policy(owner, title="Vendor Access", body="# Vendor Access\n\nRule.\n")
    policies.transition_policy(policy.id, "in_review", actor=owner)
    run_queued_steps()
    return db.session.scalar(sa.select(sa.func.max(Execution.id)))


def test_priya_decides_one_step_and_sees_why_not_the_other(app, browser_page: Page, tmp_path):
    with app.app_context():
        execution_id = _review_waiting_for_legal_and_security()
    page = browser_page
    log_in(page, "priya@example.test")
    page.goto("/approvals")
    items = page.locator("article.inbox-item")
    expect(items).to_have_count(2)
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(2)

    legal = items.filter(has_text=re.compile(r"\blegal\b"))
    legal.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".inbox-item-done")).to_contain_text("Approved")

    page.goto("/approvals")
    security = page.locator("article.inbox-item")
    expect(security).to_have_count(1)
    expect(security).to_contain_text(REASON)
    expect(security.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(security.get_by_role("button", name="Reject")).to_have_count(0)
    page.screenshot(path=tmp_path / "inbox-refusal.png", full_page=True)

    page.goto(f"/executions/{execution_id}")
    expect(page.locator(".decide-refusal")).to_contain_text(REASON)
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    page.screenshot(path=tmp_path / "execution-refusal.png", full_page=True)


def test_the_designer_starts_with_one_step_per_person_ticked(app, browser_page: Page, tmp_path):
    with app.app_context():
        factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto("/workflows/new")
    setting = page.get_by_label("One person decides at most one approval step of an execution")
    expect(setting).to_be_checked()
    page.get_by_label("Type").select_option("approval")
    expect(page.get_by_label("Distinct from the approvers of step")).to_be_visible()
    page.locator("fieldset", has_text="Separation of duties").screenshot(
        path=tmp_path / "designer-setting.png"
    )
    page.screenshot(path=tmp_path / "designer.png", full_page=True)
