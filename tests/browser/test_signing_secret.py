"""An admin gives a receiver the outbound webhook secret: reveals it, copies it, rotates it
(confirming), and sees both secrets during the grace period; all without inline script."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from governance.engine.models import Workflow
from governance.extensions import db
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser


def _secrets(app, workflow_id: int) -> tuple[str, str | None]:
    with app.app_context():
        row = db.session.get(Workflow, workflow_id)
        return row.signing_secret, row.previous_signing_secret


def test_admin_reveals_copies_and_rotates_the_signing_secret(app, new_page, live_server, tmp_path):
    with app.app_context():
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
        try:
            workflow = factories.make_workflow(
                admin,
                name="Tell the CMDB",
                trigger={"type": "policy.created"},
                stages=[[factories.step("hook", "webhook", {"url": "http://127.0.0.1:9/h"})]],
            )
        finally:
            app.config["WEBHOOK_ALLOWLIST"] = []
        workflow_id = workflow.id
    old, _ = _secrets(app, workflow_id)
    page: Page = new_page(viewport={"width": 1280, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, "ada@example.test")

    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Tell the CMDB").click()
    card = page.locator("#signing-secret")
    expect(card.get_by_role("heading", name="Outbound webhook signing secret")).to_be_visible()
    expect(card).to_contain_text("whsec_••••")
    assert old not in page.content()

    card.get_by_role("button", name="Reveal").click()
    expect(page.locator("#signing-secret-value")).to_have_text(old)
    page.locator("#signing-secret").get_by_role("button", name="Copy").click()
    expect(page.locator("#signing-secret").get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == old

    # Rotating asks first; dismissing changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#signing-secret").get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#signing-secret-value")).to_have_text(old)
    assert _secrets(app, workflow_id) == (old, None)

    page.locator("#signing-secret").get_by_label("Previous secret keeps signing for").select_option(
        "24"
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#signing-secret").get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#previous-signing-secret-value")).to_have_text(old)
    new, previous = _secrets(app, workflow_id)
    assert previous == old and new != old
    expect(page.locator("#signing-secret-value")).to_have_text(new)
    expect(page.locator("#signing-secret")).to_contain_text(re.compile(r"still signing until"))
    page.locator("#signing-secret").scroll_into_view_if_needed()
    page.locator("#signing-secret").screenshot(path=tmp_path / "signing-secret.png")
    print("screenshot:", tmp_path / "signing-secret.png")


def test_admin_turns_the_legacy_inbound_signature_off_and_on_again(app, new_page, tmp_path):
    with app.app_context():
        admin = factories.make_user("admin", email="alan@example.test", name="Alan Admin")
        workflow = factories.make_hook_workflow(admin, admin, name="From the ticket system")
        db.session.get(Workflow, workflow.id).webhook_legacy_signature = True
        db.session.commit()
        workflow_id = workflow.id
    page: Page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, "alan@example.test")
    page.goto(f"/workflows/{workflow_id}")
    card = page.locator("#inbound-webhook")
    expect(card).to_contain_text("webhook-timestamp")
    expect(card).to_contain_text("is accepted for this workflow")
    card.screenshot(path=tmp_path / "inbound.png")
    print("screenshot:", tmp_path / "inbound.png")

    card.get_by_role("button", name="Refuse X-Steward-Signature").click()
    expect(page.get_by_text("X-Steward-Signature is refused now")).to_be_visible()
    expect(card).to_contain_text("is refused for this workflow")
    with app.app_context():
        assert not db.session.get(Workflow, workflow_id).webhook_legacy_signature

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Accept X-Steward-Signature").click()
    expect(card).to_contain_text("is accepted for this workflow")
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).webhook_legacy_signature
