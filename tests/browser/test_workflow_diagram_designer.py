"""An admin edits a workflow one step at a time: a click (or Enter) on a step of the diagram
opens its form beside it, a save redraws the diagram in place without a page load, and the
approvers are chosen in a searchable picker by typing and with the keyboard."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.engine.models import Workflow, WorkflowVersion
from governance.extensions import db
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "screenshots"


def _world(app) -> dict[str, int]:
    with app.app_context():
        admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        people = {
            name: factories.make_user(
                "approver", email=f"{name.split()[0].lower()}@example.test", name=name
            ).id
            for name in ("Bridget Approver", "Brian Approver", "Carla Approver")
        }
        workflow = factories.make_workflow(
            admin,
            name="Review on submit",
            trigger={"type": "policy.created"},
            stages=[
                [factories.step("todo", "create_task", {"title": "Check", "assignee": "owner"})],
                [
                    factories.step(
                        "legal",
                        "approval",
                        {"users": [people["Carla Approver"]], "rule": "any", "due_hours": 0},
                    )
                ],
            ],
        )
        return {"workflow": workflow.id, **people}


def _latest(app, workflow_id: int) -> dict:
    with app.app_context():
        number = db.session.get(Workflow, workflow_id).latest_version
        return db.session.scalar(
            sa.select(WorkflowVersion.definition).where(
                WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.number == number
            )
        )


def test_admin_edits_a_step_beside_the_diagram_and_the_diagram_updates_in_place(
    app, browser_page: Page, tmp_path
):
    ids = _world(app)
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{ids['workflow']}")
    page.get_by_role("link", name="Design step by step").click()
    expect(page.get_by_role("heading", name="Design “Review on submit”")).to_be_visible()
    assert (
        page.evaluate("() => { window.stayedOnPage = 'yes'; return window.stayedOnPage }") == "yes"
    )

    page.locator("#dg-step-todo").click()
    panel = page.locator("#step-panel")
    expect(panel.get_by_role("heading", name="Step todo")).to_be_visible()
    expect(page).to_have_url(
        f"{page.url.split('/workflows')[0]}/workflows/{ids['workflow']}/design/steps/todo"
    )
    panel.get_by_label("Key").fill("check_it")
    panel.get_by_label("Title (template)").fill("Check {{ policy.title }}")
    # Another step of the diagram would replace this unsaved form: asked first, and kept.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#dg-step-legal").click()
    assert asked == ["You have unsaved changes on this page. Leave without saving them?"]
    expect(panel.get_by_label("Key")).to_have_value("check_it")
    panel.get_by_role("button", name="Save step").click()

    expect(panel).to_contain_text("Saved version 2: step check_it.")
    diagram = page.locator("#workflow-diagram")
    expect(diagram).to_contain_text("check_it")
    expect(diagram).not_to_contain_text("todo")
    expect(page).to_have_url(re.compile(r"/design/steps/check_it$"))  # its new address
    assert page.evaluate("() => window.stayedOnPage") == "yes"
    first = _latest(app, ids["workflow"])["stages"][0]["steps"][0]
    assert (first["key"], first["config"]["title"]) == ("check_it", "Check {{ policy.title }}")
    for width, name in ((1366, "designer.png"), (390, "designer-390.png")):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(tmp_path / name), full_page=True)
        if UPDATE_SCREENSHOTS:
            shutil.copyfile(tmp_path / name, SCREENSHOTS / name)
    page.set_viewport_size({"width": 1280, "height": 800})

    # From the keyboard: the steps of the diagram are links; Enter opens one.
    page.locator("#dg-step-legal").focus()
    page.keyboard.press("Enter")
    expect(panel.get_by_role("heading", name="Step legal")).to_be_visible()

    # The diagram's "+ Add stage" opens a new step's form for a new stage; Cancel closes it.
    page.locator("svg .dg-add").last.click()
    expect(panel.get_by_role("heading", name="New step in stage 3 (a new stage)")).to_be_visible()
    panel.get_by_role("link", name="Cancel").click()
    expect(panel).to_contain_text("Choose a step in the diagram")

    # A move from the diagram, confirmed, saves version 3 and redraws in place.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Move stage 2 earlier").click()
    expect(page.locator("#design-status")).to_contain_text(
        "Saved version 3: moved stage 2 earlier."
    )
    assert [stage["steps"][0]["key"] for stage in _latest(app, ids["workflow"])["stages"]] == [
        "legal",
        "check_it",
    ]
    assert page.evaluate("() => window.stayedOnPage") == "yes"


def test_approvers_are_found_by_typing_and_chosen_with_the_keyboard(
    app, browser_page: Page, tmp_path
):
    ids = _world(app)
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{ids['workflow']}/design/steps/legal")
    panel = page.locator("#step-panel")
    approvers = panel.get_by_role("combobox", name="Approvers (users)")
    chips = panel.locator(".picker-chip")
    expect(chips).to_have_text(["Carla Approver×"])

    approvers.press_sequentially("bri")
    listbox = panel.get_by_role("listbox", name="Approvers (users)")
    expect(listbox.get_by_role("option")).to_have_text(["Brian Approver", "Bridget Approver"])
    approvers.press("ArrowDown")  # from Brian to Bridget
    approvers.press("Enter")
    expect(chips).to_have_text(["Bridget Approver×", "Carla Approver×"])
    approvers.press_sequentially("brian")
    expect(listbox.get_by_role("option")).to_have_text(["Brian Approver"])
    approvers.press("Enter")
    approvers.press("Escape")
    expect(listbox).to_be_hidden()
    expect(chips).to_have_count(3)
    approvers.press("Backspace")  # the last chip goes: Carla
    expect(chips).to_have_text(["Brian Approver×", "Bridget Approver×"])

    # One choice: the escalation user, by typing and Enter.
    escalate = panel.get_by_role("combobox", name="Escalate to (user)")
    escalate.press_sequentially("carl")
    escalate.press("Enter")
    expect(escalate).to_have_value("Carla Approver")
    page.screenshot(path=str(tmp_path / "picker.png"), full_page=True)

    panel.get_by_role("button", name="Save step").click()
    expect(panel).to_contain_text("Saved version 2: step legal.")
    config = _latest(app, ids["workflow"])["stages"][1]["steps"][0]["config"]
    assert sorted(config["users"]) == sorted([ids["Bridget Approver"], ids["Brian Approver"]])
    assert config["escalate_user_id"] == ids["Carla Approver"]


def test_without_javascript_each_step_and_change_is_a_page_of_its_own(
    app, new_page, live_server, browser_problems
):
    ids = _world(app)
    page = new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    log_in(page, "ada@example.test")
    page.goto(f"/workflows/{ids['workflow']}/design")
    page.locator("#dg-step-todo").click()
    expect(page).to_have_url(re.compile(r"/design/steps/todo$"))
    panel = page.locator("#step-panel")
    expect(panel.get_by_role("heading", name="Step todo")).to_be_visible()
    # The plain select, without the picker.
    panel.get_by_label("Assignee").select_option(label="Ada Admin")
    panel.get_by_role("button", name="Save step").click()
    expect(page.get_by_text("Saved version 2: step todo.")).to_be_visible()
    assert _latest(app, ids["workflow"])["stages"][0]["steps"][0]["config"]["assignee"] != "owner"

    page.get_by_role("link", name="+ Add stage").click()
    panel.get_by_label("Type").select_option("set_status")
    panel.get_by_role("button", name="Show the settings of this type").click()
    panel.get_by_label("Key").fill("publish")
    panel.get_by_label("Move the policy to").select_option("published")
    panel.get_by_role("button", name="Add step").click()
    expect(page.get_by_text("Saved version 3: step publish.")).to_be_visible()
    page.get_by_role("button", name="Remove step publish").click()  # a plain POST form
    expect(page.get_by_text("Nothing was saved: Stage 3 is empty")).to_be_visible()
    page.get_by_role("button", name="Remove stage 3").click()
    expect(page.get_by_text("Saved version 4: removed stage 3.")).to_be_visible()
    assert len(_latest(app, ids["workflow"])["stages"]) == 2
    assert not browser_problems.messages, "\n".join(browser_problems.messages)
    assert live_server.server_errors == []
