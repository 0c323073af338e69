"""An admin designs a two-stage workflow in the forms, activates it, a policy's status
changes, and the execution page follows it to `succeeded` without a reload, while a real
consumer process runs the steps."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.auth.models import User
from governance.engine.models import Execution, Workflow
from governance.extensions import db
from governance.policies import service as policies
from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.consumers import running_consumer

pytestmark = pytest.mark.browser


def _settle(page: Page) -> None:
    """Let htmx finish swapping the designer before the next click."""
    page.wait_for_timeout(300)


def test_admin_designs_a_workflow_and_watches_it_run(app, browser_page: Page, tmp_path):
    with app.app_context():
        factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
        policy_id = factories.make_policy(owner, title="Travel and Expenses").id
        owner_id = owner.id
    page = browser_page
    log_in(page, "ada@example.test")

    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Name").fill("Auto-approve on submit")
    # Trigger: the default is "status changed to in review". Stage 1: notify + create a task.
    page.get_by_label("Type").select_option("notify")
    _settle(page)
    page.locator("#stage-0-step-0-key").fill("tell_owner")
    page.get_by_label("The policy owner").check()
    page.get_by_label("Subject (template)").fill("{{ policy.title }} was submitted")
    page.get_by_role("button", name="+ Add step to stage 1").click()
    _settle(page)
    page.locator("#stage-0-step-1-type").select_option("create_task")
    _settle(page)
    page.locator("#stage-0-step-1-key").fill("todo")
    page.locator("#stage-0-step-1-cfg-title").fill("Review {{ policy.title }}")
    # Stage 2: approve the policy.
    page.get_by_role("button", name="+ Add stage").click()
    _settle(page)
    page.locator("#stage-1-step-0-type").select_option("set_status")
    _settle(page)
    page.locator("#stage-1-step-0-key").fill("approve")
    page.locator("#stage-1-step-0-cfg-status").select_option("approved")
    page.get_by_role("button", name="Save version").click()

    expect(page.get_by_text("Saved version 1")).to_be_visible()
    expect(page.locator("#workflow-diagram svg")).to_be_visible()
    expect(page.locator("#workflow-diagram")).to_contain_text("tell_owner")
    page.get_by_role("button", name="Activate version 1").click()
    expect(page.get_by_text("Activated")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(sa.select(Workflow.status)) == "active"

    with running_consumer(app) as consumer:
        with app.app_context():
            owner = db.session.get(User, owner_id)
            policies.transition_policy(policy_id, "in_review", actor=owner)
            execution_id = db.session.scalar(sa.select(Execution.id))
        page.goto(f"/executions/{execution_id}")
        marker = page.evaluate("() => { window.stayedOnPage = 'yes'; return window.stayedOnPage }")
        assert marker == "yes"
        # The timeline refreshes itself in place until the execution has finished.
        expect(page.locator(f"#execution-{execution_id}")).to_contain_text(
            re.compile("Succeeded", re.IGNORECASE), timeout=30_000
        )
        assert page.evaluate("() => window.stayedOnPage") == "yes", consumer.output()
    page.screenshot(path=str(tmp_path / "execution.png"), full_page=True)
    assert (tmp_path / "execution.png").stat().st_size > 10_000
    with app.app_context():
        assert policies.get_policy(policy_id).status == "approved"
        assert db.session.get(Execution, execution_id).status == "succeeded"
