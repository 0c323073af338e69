"""Account security as a person meets it in a browser: a weak new password is refused with
the reason, a good one is taken; an idle session sends them back to the login page, and
signing in again returns them where they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.auth.models import UserSession
from governance.extensions import db
from governance.timeutil import utcnow
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser


def test_person_is_told_why_a_password_is_refused_then_changes_it(
    app, browser_page: Page, tmp_path
):
    with app.app_context():
        factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
    page = browser_page
    log_in(page, "olivia@example.test")
    page.get_by_role("link", name="Olivia Owner").click()

    page.get_by_label("Current password").fill(factories.PASSWORD)
    page.get_by_label("New password", exact=True).fill("password12345678")
    page.get_by_label("Repeat the new password").fill("password12345678")
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_text("appears in lists of common or breached passwords")).to_be_visible()
    page.screenshot(path=tmp_path / "weak-password.png", full_page=True)

    page.get_by_label("Current password").fill(factories.PASSWORD)
    page.get_by_label("New password", exact=True).fill("lantern moss quietly")
    page.get_by_label("Repeat the new password").fill("lantern moss quietly")
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_text("Password changed.")).to_be_visible()


def test_an_idle_session_returns_the_person_to_the_page_after_signing_in(
    app, browser_page: Page, live_server, tmp_path
):
    with app.app_context():
        owner = factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
        factories.make_policy(owner, title="Vendor Onboarding")
    page = browser_page
    log_in(page, "olivia@example.test")
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()

    page.goto(f"{live_server.url}/policies?q=Vendor")

    expect(page.get_by_text("Your session expired, sign in again.")).to_be_visible()
    page.screenshot(path=tmp_path / "session-expired.png", full_page=True)
    page.get_by_label("Email").fill("olivia@example.test")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/policies?q=Vendor")
    expect(page.get_by_role("link", name="Vendor Onboarding")).to_be_visible()
