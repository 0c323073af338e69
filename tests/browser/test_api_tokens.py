"""A personal API token in a real browser: created on the account page, copied from it, used by a
script over HTTP against the live server, revoked, and refused from then on."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser


def call_api(base_url: str, token: str, path: str = "/api/v1/policies") -> tuple[int, dict]:
    """What a script would do: an HTTP request with the token and no cookie."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    request = urllib.request.Request(base_url + path, headers=headers)  # noqa: S310 - our server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_person_creates_uses_and_revokes_a_token(app, browser_page: Page, live_server):
    with app.app_context():
        owner = factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
        factories.make_policy(owner, title="Vendor Onboarding")
    page = browser_page
    log_in(page, "olivia@example.test")

    page.get_by_role("link", name="Olivia Owner").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_role("link", name="Manage API tokens").click()
    expect(page).to_have_url(re.compile(r"/account/tokens$"))
    expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    expect(page.get_by_text("You have no API tokens yet.")).to_be_visible()
    tokens = page.locator("main")

    # A date in the past is refused on the field; then a good one is accepted.
    tokens.get_by_label("Token name").fill("CI pipeline")
    tokens.get_by_label("Expires on (optional)").fill("2001-01-01")
    tokens.get_by_role("button", name="Create token").click()
    expect(tokens.get_by_text("The expiry date must be in the future.")).to_be_visible()
    tokens.get_by_label("Expires on (optional)").fill("")
    tokens.get_by_role("button", name="Create token").click()

    expect(page).to_have_url(re.compile(r"/account/tokens$"))
    expect(tokens.get_by_role("heading", name="Copy your new token now")).to_be_visible()
    shown = tokens.get_by_label("Your new API token")
    expect(shown).to_have_attribute("readonly", "")
    token = shown.input_value()
    assert re.fullmatch(r"stw_[A-Za-z0-9_-]{43}", token)
    row = tokens.locator("tbody tr", has_text="CI pipeline")
    expect(row).to_contain_text(token[:12] + "…")
    expect(row.locator(".badge")).to_have_text("Active")

    status, body = call_api(live_server.url, token)
    assert status == 200, body
    assert [policy["title"] for policy in body["items"]] == ["Vendor Onboarding"]

    # Shown once: after a reload only the name and prefix remain, and now when it was last used.
    # The token came in the answer to the POST; the reload is a plain GET, not a second POST.
    page.reload()
    expect(tokens.get_by_label("Your new API token")).to_have_count(0)
    expect(tokens.locator("tbody tr")).to_have_count(1)
    assert token not in page.content()
    expect(row.locator("td").nth(4).locator("time")).to_be_visible()

    row.get_by_role("link", name="Revoke CI pipeline").click()
    expect(page.get_by_role("heading", name="Revoke API token “CI pipeline”?")).to_be_visible()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("API token “CI pipeline” revoked")).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Revoked")
    expect(row.get_by_role("link", name="Revoke CI pipeline")).to_have_count(0)

    status, body = call_api(live_server.url, token)
    assert status == 401
    assert body["error"]["code"] == "invalid_token"
