"""An admin who mistypes a name in a step template is told which name, on the designer, when
saving; the designer's help lists the names the chosen trigger gives."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.engine.models import Workflow
from governance.extensions import db
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser


def test_a_typo_in_a_template_is_refused_on_save_with_its_name(app, browser_page: Page, tmp_path):
    with app.app_context():
        factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto("/workflows/new")
    page.get_by_label("Name").fill("Tell the owner")
    page.get_by_label("Start this workflow when").select_option("policy.created")
    page.wait_for_timeout(300)
    page.get_by_label("Type").select_option("notify")
    page.wait_for_timeout(300)
    page.locator("#stage-0-step-0-key").fill("tell")
    page.get_by_label("The policy owner").check()
    page.get_by_label("Subject (template)").fill("{{ policy.titel }} by {{ trigger.actor_id }}")

    page.get_by_text("Templates: the names a step can use").click()
    help_panel = page.locator("#template-help")
    expect(help_panel).to_contain_text("trigger: policy_id, actor_id, revision, status")
    expect(help_panel).to_contain_text("tojson(2)")
    help_panel.screenshot(path=str(tmp_path / "help.png"))
    page.get_by_role("button", name="Save version").click()

    expect(page.locator("#step-0-0 .error")).to_have_text(
        "Unknown name(s) in the subject template: policy.titel (a policy has no field titel)."
    )
    page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Workflow)) == 0

    page.get_by_label("Subject (template)").fill("{{ policy.title }} by {{ trigger.actor_id }}")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_text("Saved version 1")).to_be_visible()
