"""An admin runs a manual workflow for a policy found by typing part of its title (the list
narrows as they type), previews it with a dry run the same way, and does both without
JavaScript through the search button."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.engine.models import Execution
from governance.extensions import db
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser


def _world(app) -> dict[str, int]:
    with app.app_context():
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
        workflow = factories.make_task_workflow(admin)
        ids = {"workflow": workflow.id}
        for title in ("Travel expenses", "Data retention", "Access control", "Vendor risk"):
            ids[title] = factories.make_policy(owner, title=title).id
        return ids


def _executions(app) -> list[int | None]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Execution.policy_id)))


def test_admin_types_part_of_a_title_picks_the_policy_and_runs_it(
    app, browser_page: Page, tmp_path
):
    ids = _world(app)
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{ids['workflow']}")

    run = page.locator("#run-now")
    expect(run.get_by_label("Policy", exact=True)).to_contain_text("Vendor risk")
    run.get_by_label("Find a policy").press_sequentially("trav")
    expect(run.locator("#run-policy-count")).to_have_text("1 policy matches “trav”.")
    expect(run.get_by_label("Policy", exact=True).locator("option")).to_have_text(
        ["Travel expenses · Draft · Omar Owner"]
    )
    run.get_by_label("Policy", exact=True).select_option(
        label="Travel expenses · Draft · Omar Owner"
    )
    page.screenshot(path=str(tmp_path / "run-picker.png"), full_page=True)
    run.get_by_role("button", name="Run").click()
    expect(page.get_by_text(re.compile(r"Started execution \d+\."))).to_be_visible()
    assert _executions(app) == [ids["Travel expenses"]]

    dry = page.locator("#dry-run-policy-form")
    dry.get_by_label("Find a policy").press_sequentially("reten")
    expect(dry.get_by_label("Policy", exact=True).locator("option")).to_have_text(
        ["Without a policy", "Data retention · Draft · Omar Owner"]
    )
    # The one policy found is chosen already: Dry run previews it.
    dry.get_by_role("button", name="Dry run").click()
    result = page.locator("#dry-run-result")
    expect(result).to_contain_text("for “Data retention”")
    expect(result).to_contain_text("todo")
    expect(result).to_contain_text("Check Data retention")
    page.screenshot(path=str(tmp_path / "dry-run-picker.png"), full_page=True)
    assert _executions(app) == [ids["Travel expenses"]]


def test_without_javascript_a_search_then_run_starts_the_chosen_policy(
    app, new_page, live_server, browser_problems, tmp_path
):
    ids = _world(app)
    page = new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{ids['workflow']}")

    run = page.locator("#run-now")
    run.get_by_label("Find a policy").fill("access")
    run.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"picker=run&q=access"))
    expect(run.locator("#run-policy-count")).to_have_text("1 policy matches “access”.")
    run.get_by_label("Policy", exact=True).select_option(
        label="Access control · Draft · Omar Owner"
    )
    page.screenshot(path=str(tmp_path / "run-picker-no-js.png"), full_page=True)
    run.get_by_role("button", name="Run").click()
    expect(page.get_by_text(re.compile(r"Started execution \d+\."))).to_be_visible()
    assert _executions(app) == [ids["Access control"]]

    dry = page.locator("#dry-run-policy-form")
    dry.get_by_label("Find a policy").fill("vendor")
    dry.get_by_role("button", name="Search").click()
    dry = page.locator("#dry-run-policy-form")
    dry.get_by_label("Policy", exact=True).select_option(label="Vendor risk · Draft · Omar Owner")
    dry.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("heading", name="Dry run")).to_be_visible()
    expect(page.locator("#dry-run-result")).to_contain_text("Check Vendor risk")
    assert not browser_problems.messages, "\n".join(browser_problems.messages)
    assert live_server.server_errors == []


def test_the_list_narrows_at_each_keystroke_and_arrow_down_moves_into_it(app, browser_page: Page):
    ids = _world(app)
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{ids['workflow']}")
    dry = page.locator("#dry-run-policy-form")
    search = dry.get_by_label("Find a policy")
    listed = dry.get_by_label("Policy", exact=True).locator("option:not([hidden])")
    search.press_sequentially("vend")
    expect(listed).to_have_text(["Without a policy", "Vendor risk · Draft · Omar Owner"])
    search.press("ArrowDown")
    policy = dry.get_by_label("Policy", exact=True)
    expect(policy).to_be_focused()
    expect(policy).to_have_value(str(ids["Vendor risk"]))
