"""Nothing a person writes is lost: leaving a half-written policy or workflow asks first, the
policy text is kept in the browser and offered back, and the preview shows the rendered text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from governance.auth.models import User
from governance.extensions import db
from governance.policies.models import Policy
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

WARNING = "You have unsaved changes on this page. Leave without saving them?"


class Dialogs:
    """Answers every dialog the page opens (staying, unless told to leave) and keeps them."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, str]] = []
        self.leave = False
        page.on("dialog", self._answer)

    def _answer(self, dialog: Dialog) -> None:
        self.seen.append((dialog.type, dialog.message))
        if self.leave:
            dialog.accept()
        else:
            dialog.dismiss()


def _nav_link(page: Page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def _owner(app, email="olivia@example.test"):
    with app.app_context():
        return factories.make_user("owner", email=email, name="Olivia Owner").id


def _new_policy_as_owner(app, page: Page) -> Dialogs:
    """Olivia, an owner, logs in and opens New policy; the page's dialogs are answered."""
    _owner(app)
    log_in(page, "olivia@example.test")
    dialogs = Dialogs(page)
    page.get_by_role("link", name="New policy").click()
    return dialogs


def test_leaving_a_half_written_policy_asks_first_and_staying_keeps_the_text(
    app, browser_page: Page, tmp_path
):
    page = browser_page
    dialogs = _new_policy_as_owner(app, page)
    body = page.get_by_label("Text (Markdown)")
    body.fill("# Purpose\n\nHalf a thought")

    _nav_link(page, "Policies").click()

    expect(page.get_by_role("heading", name="New policy")).to_be_visible()
    assert dialogs.seen == [("confirm", WARNING)]
    expect(page).to_have_url(re.compile(r"/policies/new$"))
    expect(body).to_have_value("# Purpose\n\nHalf a thought")
    # The Cancel link inside the form leaves the page too.
    page.get_by_role("link", name="Cancel").click()
    assert len(dialogs.seen) == 2
    expect(body).to_have_value("# Purpose\n\nHalf a thought")
    page.screenshot(path=tmp_path / "unsaved-policy.png", full_page=True)

    dialogs.leave = True
    _nav_link(page, "Policies").click()
    expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()
    assert len(dialogs.seen) == 3


def test_typing_then_undoing_is_not_an_unsaved_change(app, browser_page: Page):
    page = browser_page
    dialogs = _new_policy_as_owner(app, page)
    page.get_by_label("Text (Markdown)").fill("A thought")
    page.get_by_label("Text (Markdown)").fill("")

    _nav_link(page, "Policies").click()

    expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()
    assert dialogs.seen == []


def test_submitting_the_form_does_not_warn_and_no_draft_is_offered_afterwards(
    app, browser_page: Page
):
    page = browser_page
    dialogs = _new_policy_as_owner(app, page)
    page.get_by_label("Title").fill("Vendor Onboarding")
    page.get_by_label("Category").fill("Procurement")
    page.get_by_label("Text (Markdown)").fill("Vendors are checked before signing.")
    page.wait_for_timeout(600)  # past the draft's debounce: the draft is in localStorage

    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_text("Policy created as a draft.")).to_be_visible()
    assert dialogs.seen == []
    _expect_no_drafts(page)
    _nav_link(page, "Policies").click()
    page.get_by_role("link", name="New policy").click()
    expect(page.get_by_role("heading", name="New policy")).to_be_visible()
    expect(page.locator("[data-draft-banner]")).to_be_hidden()
    assert dialogs.seen == []


def test_a_save_with_errors_keeps_warning_and_keeps_the_draft(app, browser_page: Page):
    page = browser_page
    dialogs = _new_policy_as_owner(app, page)
    page.get_by_label("Text (Markdown)").fill("Text without a title yet")

    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_text("Give the policy a title.")).to_be_visible()
    expect(page.locator("[data-draft-banner]")).to_be_hidden()  # the page shows the text already
    assert len(_drafts(page)) == 1
    _nav_link(page, "Policies").click()
    assert dialogs.seen == [("confirm", WARNING)]
    expect(page.get_by_label("Text (Markdown)")).to_have_value("Text without a title yet")


def test_leaving_and_coming_back_offers_the_draft_and_restoring_fills_the_form(
    app, browser_page: Page, tmp_path
):
    with app.app_context():
        owner = factories.make_user("owner", email="olivia@example.test")
        policy_id = factories.make_policy(owner, title="Travel", body="Old text").id
    page = browser_page
    log_in(page, "olivia@example.test")
    dialogs = Dialogs(page)
    dialogs.leave = True
    page.goto(f"/policies/{policy_id}/edit")
    page.get_by_label("Title").fill("Travel and Expenses")
    page.get_by_label("Text (Markdown)").fill("# Scope\n\nEvery **trip** is booked ahead.")

    _nav_link(page, "Policies").click()
    expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()
    page.get_by_role("link", name="Travel").click()
    page.get_by_role("link", name="Edit", exact=True).click()

    banner = page.locator("[data-draft-banner]")
    expect(banner).to_be_visible()
    restore = banner.get_by_role("button", name=re.compile(r"^Restore your unsaved draft from "))
    expect(restore).to_contain_text("today at")
    expect(banner.locator("[data-draft-stale]")).to_be_hidden()
    expect(page.get_by_label("Text (Markdown)")).to_have_value("Old text")
    page.screenshot(path=tmp_path / "draft-offered.png", full_page=True)
    restore.click()

    expect(banner).to_be_hidden()
    expect(page.get_by_label("Title")).to_have_value("Travel and Expenses")
    expect(page.get_by_label("Text (Markdown)")).to_have_value(
        "# Scope\n\nEvery **trip** is booked ahead."
    )
    expect(page.locator("#policy-preview strong")).to_have_text("trip")
    page.get_by_role("button", name="Save revision").click()
    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()
    _expect_no_drafts(page)
    with app.app_context():
        saved = db.session.get(Policy, policy_id)
        assert (saved.title, saved.body) == (
            "Travel and Expenses",
            "# Scope\n\nEvery **trip** is booked ahead.",
        )


def test_a_discarded_draft_is_not_offered_again(app, browser_page: Page):
    _owner(app)
    page = browser_page
    log_in(page, "olivia@example.test")
    Dialogs(page).leave = True
    page.get_by_role("link", name="New policy").click()
    page.get_by_label("Text (Markdown)").fill("Throwaway")
    _nav_link(page, "Policies").click()
    page.get_by_role("link", name="New policy").click()

    page.locator("[data-draft-banner]").get_by_role("button", name="Discard").click()

    expect(page.locator("[data-draft-banner]")).to_be_hidden()
    expect(page.get_by_label("Text (Markdown)")).to_have_value("")
    _expect_no_drafts(page)


def test_back_with_unsaved_changes_asks_and_staying_keeps_page_and_address(app, browser_page: Page):
    page = browser_page
    dialogs = _new_policy_as_owner(app, page)
    expect(page).to_have_url(re.compile(r"/policies/new$"))
    page.get_by_label("Text (Markdown)").fill("Still writing")

    page.go_back()

    expect(page.get_by_label("Text (Markdown)")).to_have_value("Still writing")
    expect(page).to_have_url(re.compile(r"/policies/new$"))
    assert dialogs.seen == [("confirm", WARNING)]


def test_preview_shows_the_rendered_text_as_you_type(app, browser_page: Page, tmp_path):
    _owner(app)
    page = browser_page
    log_in(page, "olivia@example.test")
    page.get_by_role("link", name="New policy").click()
    preview = page.locator("#policy-preview")
    expect(preview).to_contain_text("Nothing to preview yet")

    page.get_by_label("Text (Markdown)").press_sequentially(
        "# Purpose\n\nVendors are checked **before** signing. <script>alert(1)</script>", delay=5
    )

    expect(preview.locator("h2")).to_have_text("Purpose")
    expect(preview.locator("strong")).to_have_text("before")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    expect(preview.locator("script")).to_have_count(0)
    page.screenshot(path=tmp_path / "policy-preview.png", full_page=True)


def test_workflow_designer_warns_after_in_place_edits_but_not_when_saved(app, browser_page: Page):
    with app.app_context():
        factories.make_user("admin", email="ada@example.test")
    page = browser_page
    log_in(page, "ada@example.test")
    dialogs = Dialogs(page)
    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Name").fill("Notify on submit")
    page.get_by_label("Type").select_option("notify")
    expect(page.locator("#stage-0-step-0-cfg-subject")).to_be_visible()  # swapped in place
    page.locator("#stage-0-step-0-key").fill("tell_owner")
    page.get_by_label("The policy owner").check()
    page.get_by_label("Subject (template)").fill("{{ policy.title }} was submitted")
    page.get_by_role("button", name="+ Add stage").click()
    expect(page.locator("#stage-1")).to_be_visible()
    page.get_by_role("button", name="Remove stage 2").click()
    expect(page.locator("#stage-1")).to_have_count(0)

    _nav_link(page, "Workflows").click()

    assert dialogs.seen == [("confirm", WARNING)]
    expect(page.get_by_label("Name")).to_have_value("Notify on submit")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_text("Saved version 1")).to_be_visible()
    assert len(dialogs.seen) == 1


def _expect_no_drafts(page: Page) -> None:
    """The script forgets drafts when the next page's content is scanned, a moment after it is
    shown: wait for that (failing after the page timeout) instead of reading too early."""
    page.wait_for_function(
        "() => !Object.keys(localStorage).some(k => k.startsWith('steward.draft.'))"
    )


def _drafts(page: Page) -> dict:
    return page.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage)"
        ".filter(k => k.startsWith('steward.draft.')).map(k => [k, localStorage.getItem(k)]))"
    )


def test_a_draft_written_before_someone_else_saved_is_offered_with_a_warning(
    app, browser_page: Page
):
    with app.app_context():
        owner = factories.make_user("owner", email="olivia@example.test")
        admin_id = factories.make_user("admin", email="ada@example.test").id
        policy_id = factories.make_policy(owner, title="Travel", body="Old text").id
    page = browser_page
    log_in(page, "olivia@example.test")
    Dialogs(page).leave = True
    page.goto(f"/policies/{policy_id}/edit")
    page.get_by_label("Text (Markdown)").fill("My version")
    _nav_link(page, "Policies").click()
    expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()
    with app.app_context():
        factories.edit_policy(policy_id, db.session.get(User, admin_id), body="Their text")

    page.goto(f"/policies/{policy_id}/edit")

    banner = page.locator("[data-draft-banner]")
    expect(banner.locator("[data-draft-stale]")).to_be_visible()
    expect(page.get_by_label("Text (Markdown)")).to_have_value("Their text")
    banner.get_by_role("button", name=re.compile("^Restore")).click()
    expect(page.get_by_label("Text (Markdown)")).to_have_value("My version")
    # Kept under the version now open (once the typing pause has passed), not as stale again.
    version = page.locator("form[data-draft]").get_attribute("data-draft-version")
    page.wait_for_function(
        "v => Object.keys(localStorage).some(k => k.endsWith('@' + v))", arg=version
    )
    assert [key.rsplit("@", 1)[1] for key in _drafts(page)] == [version]


def test_a_full_page_load_asks_through_the_browser_before_leaving(app, browser_page: Page):
    page = browser_page
    dialogs = _new_policy_as_owner(app, page)
    page.get_by_label("Text (Markdown)").fill("Still writing")

    # The footer's API link is not boosted: the browser itself unloads the page.
    page.get_by_role("link", name="API", exact=True).click()

    expect(page.get_by_label("Text (Markdown)")).to_have_value("Still writing")
    assert [kind for kind, _ in dialogs.seen] == ["beforeunload"]


def test_logging_out_forgets_the_drafts_kept_in_this_browser(app, browser_page: Page):
    _owner(app)
    page = browser_page
    log_in(page, "olivia@example.test")
    dialogs = Dialogs(page)
    dialogs.leave = True
    page.get_by_role("link", name="New policy").click()
    page.get_by_label("Text (Markdown)").fill("Private thoughts")
    _nav_link(page, "Policies").click()
    expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()
    assert len(_drafts(page)) == 1

    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    _expect_no_drafts(page)


def test_without_local_storage_the_form_still_warns_and_saves(app, new_page, browser_problems):
    _owner(app)
    page = new_page()
    # As in browsers that refuse storage to the site: touching localStorage throws.
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage', {get() {"
        " throw new DOMException('The operation is insecure.', 'SecurityError'); }});"
    )
    log_in(page, "olivia@example.test")
    dialogs = Dialogs(page)
    page.get_by_role("link", name="New policy").click()
    page.get_by_label("Title").fill("Vendor Onboarding")
    page.get_by_label("Category").fill("Procurement")
    page.get_by_label("Text (Markdown)").fill("**Checked** first")
    expect(page.locator("#policy-preview strong")).to_have_text("Checked")

    _nav_link(page, "Policies").click()
    assert dialogs.seen == [("confirm", WARNING)]
    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_text("Policy created as a draft.")).to_be_visible()
    assert len(dialogs.seen) == 1
    assert browser_problems.messages == []


def test_without_javascript_the_policy_form_still_saves(app, new_page):
    _owner(app)
    page = new_page(java_script_enabled=False)
    log_in(page, "olivia@example.test")
    page.get_by_role("link", name="New policy").click()
    page.get_by_label("Title").fill("Vendor Onboarding")
    page.get_by_label("Category").fill("Procurement")
    page.get_by_label("Text (Markdown)").fill("**Checked** first")

    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_text("Policy created as a draft.")).to_be_visible()
    expect(page.locator("article.policy-body strong")).to_have_text("Checked")
