"""Steward on a 390 px phone and in dark mode, on the demo data: the links fold behind "Menu",
tables read as cards whose cells name their column (also after an htmx swap), the inbox shows
its requests first with the filters behind a toggle, no page scrolls sideways; the system's
dark scheme darkens the pages unless the account chose light; times follow the browser's
zone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from devdata.demo import DEMO_PASSWORD
from tests.browser.test_navigation import _seed_demo
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Main pages of each kind: lists, a policy, a workflow with its diagram, forms, admin pages.
WIDE_CONTENT_PAGES = [
    "/dashboard",
    "/policies",
    "/policies/1",
    "/policies/1/compare",
    "/executions",
    "/executions/1",
    "/tasks",
    "/approvals",
    "/acknowledgements",
    "/notifications",
    "/workflows",
    "/workflows/1",
    "/admin/users",
    "/admin/queues",
    "/admin/audit",
    "/account",
]


def _log_in(page: Page, email: str) -> None:
    log_in(page, email, DEMO_PASSWORD)


def _background_luminance(page: Page) -> float:
    """0 (black) to 1 (white): the relative luminance of the page's background."""
    colour = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_on_a_phone_the_menu_folds_and_tables_become_labelled_cards(
    app, new_page, browser_problems, tmp_path
):
    _seed_demo(app)
    page = new_page(viewport=PHONE)
    _log_in(page, "admin@example.org")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(nav.get_by_role("link", name="Tasks", exact=True)).to_be_visible()
    nav.get_by_role("link", name="Tasks", exact=True).click()
    expect(page).to_have_url(re.compile("/tasks$"))
    expect(nav).to_be_hidden()

    page.goto("/admin/users")
    row = page.locator("table tbody tr").filter(has_text="lena@example.org")
    email_cell = row.locator("td").filter(has_text="lena@example.org")
    expect(email_cell).to_have_attribute("data-label", "Email")
    assert email_cell.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Email"'
    assert row.evaluate("row => getComputedStyle(row).display") == "block"
    expect(page.locator("table thead")).not_to_be_in_viewport()
    page.screenshot(path=tmp_path / "users-390.png", full_page=True)

    # The policy list's search swaps its results in with htmx: the new rows are labelled too.
    page.goto("/policies")
    page.get_by_label("Search").fill("Whistleblowing")
    results = page.locator("#policy-results table tbody tr")
    expect(results).to_have_count(1)
    expect(results.first.locator("td").first).to_have_attribute("data-label", "Title")

    # At 1366 px the same table has its columns back.
    page.set_viewport_size({"width": 1366, "height": 800})
    expect(page.locator("#policy-results table thead")).to_be_visible()
    assert results.first.evaluate("row => getComputedStyle(row).display") == "table-row"
    assert not browser_problems.messages, browser_problems.messages


def test_on_a_phone_the_inbox_shows_requests_first_and_folds_the_filters(
    app, new_page, browser_problems
):
    _seed_demo(app)
    page = new_page(viewport=PHONE)
    _log_in(page, "priya@example.org")
    page.goto("/approvals")
    toggle = page.locator("#inbox-filters-toggle")
    due = page.get_by_label("Due")
    expect(page.locator("article.inbox-item").first).to_be_in_viewport()
    expect(due).to_be_hidden()

    toggle.get_by_text("Filters").click()
    expect(due).to_be_visible()
    due.select_option(label="Overdue")
    expect(page).to_have_url(re.compile(r"due=overdue"))
    expect(page.locator("article.inbox-item").first).to_be_visible()
    expect(page.locator("article.inbox-item:not(.overdue)")).to_have_count(0)
    toggle.get_by_text("Filters").click()
    expect(due).to_be_hidden()

    # On a wide screen the filters show without the toggle.
    wide = new_page(viewport={"width": 1366, "height": 800})
    _log_in(wide, "priya@example.org")
    wide.goto("/approvals")
    expect(wide.get_by_label("Due")).to_be_visible()
    expect(wide.locator("#inbox-filters-toggle > summary")).to_be_hidden()
    assert not browser_problems.messages, browser_problems.messages


def test_no_main_page_scrolls_sideways_on_a_phone(app, new_page, browser_problems):
    _seed_demo(app)
    page = new_page(viewport=PHONE)
    _log_in(page, "admin@example.org")
    too_wide = {}
    for path in WIDE_CONTENT_PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width
    assert too_wide == {}
    assert not browser_problems.messages, browser_problems.messages


def test_dark_mode_follows_the_system_unless_the_account_chose_a_theme(
    app, new_page, browser_problems
):
    _seed_demo(app)
    page = new_page(viewport={"width": 1366, "height": 800}, color_scheme="dark")
    _log_in(page, "admin@example.org")
    assert _background_luminance(page) < 0.05
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "light dark"
    # The workflow diagram follows: its boxes dark, its arrowheads the palette's grey, not the
    # fill attribute's.
    page.goto("/workflows/1")
    box = page.locator(".diagram .dg-step:not(.dg-approval, .dg-wait) rect").first
    assert box.evaluate("rect => getComputedStyle(rect).fill") == "rgb(24, 41, 61)"
    arrowhead = page.locator(".diagram marker path")
    assert arrowhead.evaluate("path => getComputedStyle(path).fill") == "rgb(141, 152, 170)"

    page.goto("/account")
    page.get_by_role("radio", name="Light").check()
    page.get_by_role("button", name="Save display settings").click()
    expect(page.get_by_text("Saved: theme “light”")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert _background_luminance(page) > 0.9

    light_system = new_page(viewport={"width": 1366, "height": 800}, color_scheme="light")
    _log_in(light_system, "victor@example.org")
    assert _background_luminance(light_system) > 0.9
    light_system.goto("/account")
    light_system.get_by_role("radio", name="Dark").check()
    light_system.get_by_role("button", name="Save display settings").click()
    expect(light_system.locator("html")).to_have_attribute("data-theme", "dark")
    assert _background_luminance(light_system) < 0.05

    light_system.get_by_role("radio", name="Follow the system").check()
    light_system.get_by_role("button", name="Save display settings").click()
    expect(light_system.get_by_text("Saved: theme “follow the system”")).to_be_visible()
    assert light_system.locator("html").get_attribute("data-theme") is None
    assert _background_luminance(light_system) > 0.9
    assert not browser_problems.messages, browser_problems.messages


def test_times_show_in_the_browsers_time_zone_with_the_exact_time_on_hover(
    app, new_page, browser_problems
):
    _seed_demo(app)
    page = new_page(viewport={"width": 1366, "height": 800}, timezone_id="Asia/Tokyo")
    _log_in(page, "admin@example.org")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["tz"]["value"] == "Asia/Tokyo"
    assert cookies["tz"]["sameSite"] == "Lax"

    page.goto("/workflows/1")
    saved = page.locator("table time").first
    expect(saved).to_have_attribute("title", re.compile(r" JST \(Asia/Tokyo\)$"))
    expect(saved).to_have_attribute("datetime", re.compile(r"\+00:00$"))
    expect(saved).to_contain_text(re.compile(r"(just now|ago|yesterday|\d+ \w{3})"))
    assert not browser_problems.messages, browser_problems.messages
