"""A person reads a step's output as a table and opens its raw JSON with a click, and filters
their notifications with the page's own form, which htmx swaps in place and keeps in the
address bar."""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from governance.engine.models import Execution, StepRun
from governance.extensions import db
from governance.timeutil import utcnow
from tests import factories
from tests.browser.test_policy_editing import log_in

pytestmark = pytest.mark.browser

UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "screenshots"


def _shoot(page: Page, tmp_path: Path, name: str) -> None:
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        # The README's names: NAME.png at 1366 px, NAME-390.png on a phone.
        shot = tmp_path / (f"{name}.png" if width == 1366 else f"{name}-{width}.png")
        page.screenshot(path=shot, full_page=True)
        if UPDATE_SCREENSHOTS:
            shutil.copyfile(shot, SCREENSHOTS / shot.name)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_an_owner_reads_an_output_as_a_table_and_opens_its_raw_json(
    app, users, browser_page: Page, tmp_path
):
    factories.make_task_workflow(users["admin"], trigger={"type": "policy.created"})
    factories.make_policy(users["owner"], title="Travel")
    factories.run_queued_steps()
    run = db.session.scalar(sa.select(StepRun))
    run.output = {
        "task_id": 1,
        "response": {"status": 201, "ticket": {"id": "SEC-7", "labels": ["pci", "urgent"]}},
        "accepted": True,
        "received_at": "2026-03-01T09:30:00+00:00",
    }
    db.session.commit()
    execution_id = db.session.scalar(sa.select(Execution.id))

    page = browser_page
    log_in(page, users["owner"].email)
    page.goto(f"/executions/{execution_id}")
    output = page.get_by_role("table", name="Output of todo")
    expect(output.get_by_role("rowheader", name="ticket")).to_be_visible()
    expect(output).to_contain_text("SEC-7")
    expect(output).to_contain_text("pci, urgent")
    raw = page.locator(".output details.raw-json")
    expect(raw.locator("pre")).to_be_hidden()
    raw.get_by_text("Raw JSON").click()
    expect(raw.locator("pre")).to_contain_text('"labels": [')
    _shoot(page, tmp_path, "execution-output")


def test_a_person_filters_their_notifications_by_kind_and_unread(
    app, users, browser_page: Page, tmp_path
):
    owner = users["owner"]
    policy = factories.make_policy(owner, title="Travel")
    now = utcnow()
    factories.make_notification(
        owner, "Policy changed", link=f"/policies/{policy.id}", created_at=now
    )
    factories.make_notification(
        owner, "Approval requested", link="/approvals", created_at=now - timedelta(days=1)
    )
    factories.make_notification(
        owner,
        "Read already",
        link=f"/policies/{policy.id}",
        read=True,
        created_at=now - timedelta(days=3),
    )

    page = browser_page
    log_in(page, owner.email)
    page.goto("/notifications")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_role("heading", name="Yesterday")).to_be_visible()
    expect(page.locator(".notification-subject").first).to_contain_text("Travel")
    _shoot(page, tmp_path, "notifications")

    page.get_by_label("About").select_option("policy")
    expect(page).to_have_url(re.compile(r"kind=policy"))
    expect(page.get_by_role("link", name="Approval requested", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Read already", exact=True)).to_be_visible()
    page.get_by_label("Show").select_option("unread")
    expect(page).to_have_url(re.compile(r"show=unread"))
    expect(page.get_by_role("link", name="Read already", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Policy changed", exact=True)).to_be_visible()
    page.get_by_label("About").select_option("execution")
    expect(page.get_by_text("No notifications match these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.get_by_role("link", name="Approval requested", exact=True)).to_be_visible()


def test_an_owner_starts_from_the_empty_policy_list(app, users, browser_page: Page, tmp_path):
    page = browser_page
    log_in(page, users["owner"].email)
    expect(page.get_by_text("No policies yet.")).to_be_visible()
    _shoot(page, tmp_path, "empty-policies")
    page.locator(".empty-state").get_by_role("link", name="Create the first policy").click()
    expect(page).to_have_url(re.compile(r"/policies/new$"))
