"""/api/docs in a real browser: the vendored Swagger UI renders our OpenAPI document under the
site's CSP (no inline script or style), and "Try it out" calls the API with a bearer token."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from governance.auth import tokens
from tests import factories

pytestmark = pytest.mark.browser

# Every Content-Security-Policy violation the page reports, console message or not.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_api_docs_list_every_operation_under_the_csp(app, browser_page: Page):
    with app.app_context():
        owner = factories.make_user("owner", email="olivia@example.test")
        factories.make_policy(owner, title="Vendor Onboarding")
        token = tokens.create_token(owner, name="docs", today=date.today(), expires_on=None).token
    page = browser_page
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    # From any page, the footer's API link opens the docs as a full page load.
    page.goto("/login")
    page.get_by_role("link", name="API", exact=True).click()
    expect(page).to_have_url(re.compile(r"/api/docs$"))
    expect(page.get_by_role("heading", name="API documentation")).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Steward API")
    list_policies = page.locator(".opblock-summary", has_text="List policies")
    expect(list_policies).to_be_visible()
    expect(page.locator(".opblock-summary", has_text="Create a draft policy")).to_be_visible()

    # Authorize with a personal token, then try "List policies" from the page.
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.locator(".auth-container input[type=text]").fill(token)
    page.get_by_role("button", name="Apply credentials").click()
    expect(page.get_by_role("button", name="Remove authorization")).to_be_visible()
    page.get_by_role("button", name="Close", exact=True).click()
    list_policies.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    response = page.locator(".live-responses-table .response")
    expect(response.locator(".response-col_status")).to_have_text("200")
    expect(response.locator(".microlight, pre").first).to_contain_text("Vendor Onboarding")

    assert page.evaluate("window.cspViolations") == []


def test_a_boosted_navigation_to_the_docs_becomes_a_full_page_load(client):
    # htmx runs no scripts from a boosted swap, so Swagger UI would never start.
    response = client.get("/api/docs", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/api/docs"
