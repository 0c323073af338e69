"""The top bar as an administrator sees it on the demo (every badge showing): one row at 1366
and 1024 px with the admin pages under one "Admin" menu that opens with a click or the
keyboard and whose links work; on a phone the links fold behind "Menu"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from devdata.demo import DEMO_PASSWORD
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

ADMIN_PAGES = {
    "Users": "/admin/users",
    "Groups": "/admin/groups",
    "Queues": "/admin/queues",
    "Audit": "/admin/audit",
    "Outbox": "/admin/outbox",
    "API tokens": "/account/tokens",
}


def _seed_demo(app) -> None:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def _rows(page: Page) -> int:
    """How many rows the bar's parts sit on: distinct tops of brand, entries and account."""
    boxes = page.locator(
        ".topbar > .brand, .topbar #main-nav > ul > li, .topbar > .account"
    ).evaluate_all(
        "items => items.map(item => { const r = item.getBoundingClientRect();"
        " return [Math.round(r.top), Math.round(r.bottom)]; })"
    )
    rows: list[tuple[int, int]] = []
    for top, bottom in sorted(boxes):
        if not any(top < row_bottom and bottom > row_top for row_top, row_bottom in rows):
            rows.append((top, bottom))
    return len(rows)


@pytest.mark.parametrize("width", [1366, 1024])
def test_the_bar_is_one_row_and_the_admin_menu_opens_and_leads_to_each_page(
    app, new_page, browser_problems, width, tmp_path
):
    _seed_demo(app)
    page = new_page(viewport={"width": width, "height": 800})
    log_in(page, "admin@example.org", DEMO_PASSWORD)
    expect(page.locator("#nav-inbox .nav-badge, #nav-ack .nav-badge").first).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    assert _rows(page) == 1
    bar = page.locator(".topbar").bounding_box()
    assert bar["height"] < 70
    # Nothing sticks out to the right: no sideways scrolling, the account fully on screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    account = page.locator(".topbar > .account").bounding_box()
    assert account["x"] + account["width"] <= width
    # The admin pages are no longer entries of their own, only inside the menu.
    menu = page.locator("#nav-admin")
    for name in ADMIN_PAGES:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_hidden()

    nav.get_by_text("Admin", exact=True).click()
    expect(menu).to_have_attribute("open", "")
    for name in ADMIN_PAGES:
        expect(menu.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.screenshot(path=tmp_path / f"nav-{width}-open.png")
    assert _rows(page) == 1  # the open menu drops over the page; the bar stays one row

    for name, path in ADMIN_PAGES.items():
        if menu.get_attribute("open") is None:
            nav.get_by_text("Admin", exact=True).click()
        menu.get_by_role("link", name=name, exact=True).click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        # Closed again on the new page, its entry marked as the current one.
        expect(menu).not_to_have_attribute("open", "")
        expect(menu.locator("a", has_text=name)).to_have_attribute("aria-current", "page")
    assert not browser_problems.messages, browser_problems.messages


def test_the_admin_menu_works_from_the_keyboard(app, new_page, browser_problems):
    _seed_demo(app)
    page = new_page(viewport={"width": 1366, "height": 800})
    log_in(page, "admin@example.org", DEMO_PASSWORD)
    summary = page.locator("#nav-admin > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#nav-admin")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(page.locator("#nav-admin a", has_text="Users")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/admin/users$"))
    assert not browser_problems.messages, browser_problems.messages


@pytest.mark.parametrize("width", [390, 800])
def test_on_a_phone_the_links_fold_behind_menu(app, new_page, browser_problems, tmp_path, width):
    _seed_demo(app)
    page = new_page(viewport={"width": width, "height": 844})
    log_in(page, "admin@example.org", DEMO_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    assert page.locator(".topbar").bounding_box()["height"] < 120
    assert page.locator(".topbar").evaluate("bar => bar.scrollWidth <= bar.clientWidth")
    page.screenshot(path=tmp_path / f"nav-{width}-closed.png")

    # The keyboard opens and closes it too: Space on the focused "Menu" toggle.
    page.locator("#nav-toggle").focus()
    page.keyboard.press("Space")
    expect(nav.get_by_role("link", name="Policies", exact=True)).to_be_visible()
    page.keyboard.press("Space")
    expect(nav).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(nav.get_by_role("link", name="Policies", exact=True)).to_be_visible()
    nav.get_by_text("Admin", exact=True).click()
    expect(nav.get_by_role("link", name="Audit", exact=True)).to_be_visible()
    page.screenshot(path=tmp_path / f"nav-{width}-open.png", full_page=True)
    nav.get_by_role("link", name="Audit", exact=True).click()
    expect(page).to_have_url(re.compile("/admin/audit$"))
    # After the navigation the menu is folded again.
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert not browser_problems.messages, browser_problems.messages
