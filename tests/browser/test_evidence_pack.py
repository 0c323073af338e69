"""An owner asks for an evidence pack in a real browser and watches it being built by a real
consumer: the progress bar fills without a reload, then the ZIP downloads with the SHA-256
the page shows."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from governance.timeutil import utcnow
from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.consumers import running_consumer

pytestmark = pytest.mark.browser
BUILD_TIMEOUT_MS = 60_000


def test_owner_builds_an_evidence_pack_and_downloads_it(app, browser_page: Page):
    with app.app_context():
        owner = factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        for title in ("Access Control", "Backups"):
            factories.make_policy(owner, status="published", admin=admin, title=title)
    page = browser_page
    log_in(page, "olivia@example.test")

    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.get_by_role("link", name="Evidence packs").click()
    expect(page.get_by_role("heading", name="Evidence packs", exact=True)).to_be_visible()
    page.get_by_label("Last day").fill("2000-01-01")
    page.get_by_role("button", name="Build evidence pack").click()
    expect(page.get_by_text("The period must start on or before its last day.")).to_be_visible()

    today = utcnow().date()
    page.get_by_label("First day").fill((today - timedelta(days=30)).isoformat())
    page.get_by_label("Last day").fill(today.isoformat())
    page.get_by_role("button", name="Build evidence pack").click()
    expect(page).to_have_url(re.compile(r"/evidence/\d+$"))
    expect(page.get_by_text("Waiting for a worker to start building.")).to_be_visible()

    with running_consumer(app):
        download_link = page.get_by_role("link", name="Download ZIP")
        expect(download_link).to_be_visible(timeout=BUILD_TIMEOUT_MS)
    expect(page.locator("progress.pack-bar")).to_have_attribute("value", "100")
    expect(page.get_by_text("2 versions.", exact=False)).to_be_visible()
    shown_digest = page.locator("code.hash").inner_text()

    with page.expect_download() as download_info:
        download_link.click()
    path = download_info.value.path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == shown_digest
