"""An admin watches /admin/queues in a real browser while a consumer works through a batch of
executions: the pending count falls to zero, the completed count and the throughput chart
rise, and the consumer shows as alive, all without a reload."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from governance.workflows import service as workflows
from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.consumers import running_consumer
from tests.factories import make_workflow, step

pytestmark = pytest.mark.browser

BATCH = 30
FAILING = 3
ONE_TRY = {"attempts": 1, "backoff": "fixed", "base_seconds": 0}
UPDATE_SCREENSHOTS = os.environ.get("STEWARD_UPDATE_SCREENSHOTS") == "1"
SCREENSHOT = Path(__file__).resolve().parents[2] / "static" / "screenshots" / "queues.png"
# The consumer needs a couple of seconds to start; the batch itself takes a few more.
DRAIN_TIMEOUT_S = 60


def _queue_a_batch() -> None:
    """BATCH executions that notify the admin and FAILING that fail for good, all queued to
    Huey through the engine's normal path while no consumer runs."""
    admin = factories.make_user("admin", email="ada@example.test", name="Ada Admin")
    owner = factories.make_user("owner", email="omar@example.test", name="Omar Owner")
    acknowledge = make_workflow(
        admin,
        name="Acknowledge",
        trigger={"type": "manual"},
        stages=[[step("tell", "notify", {"users": [admin.id], "subject": "Ran", "body": "Done"})]],
    )
    # A draft cannot be published directly: this step fails on its one attempt.
    publish = make_workflow(
        admin,
        name="Publish at once",
        trigger={"type": "manual"},
        stages=[[step("publish", "set_status", {"status": "published"}, retry=ONE_TRY)]],
    )
    draft = factories.make_policy(owner, title="Clean Desk")
    for _ in range(BATCH):
        workflows.run_manually(acknowledge.id, policy_id=None, actor=admin)
    for _ in range(FAILING):
        workflows.run_manually(publish.id, policy_id=draft.id, actor=admin)


def _number(locator: Locator) -> float:
    return float(locator.inner_text().split("/")[0].strip())


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s} s waiting until {what}")
        time.sleep(0.2)


def test_admin_watches_the_queue_drain_and_the_chart_move_without_a_reload(
    app, browser_page: Page, tmp_path
):
    with app.app_context():
        _queue_a_batch()
    page = browser_page
    log_in(page, "ada@example.test")
    page.goto("/admin/queues")
    expect(page.get_by_role("heading", name="Queues", exact=True)).to_be_visible()

    pending = page.locator("#figure-pending")
    completed = page.locator("#figure-completed")
    failed = page.locator("#figure-failed")
    chart = page.locator("svg#throughput-chart")
    alive = page.locator("#consumers tr.consumer-alive")
    # Every step is queued and nobody is consuming: the page shows the backlog.
    assert _number(pending) == BATCH + FAILING
    expect(completed).to_have_text("0")
    expect(chart).to_have_attribute("data-total", "0")
    expect(chart.locator("rect")).to_have_count(0)
    expect(page.locator("#figure-consumers")).to_have_text("0")
    expect(page.get_by_text("No consumer has reported.")).to_be_visible()
    # A marker on the window survives only if the page is never reloaded.
    page.evaluate("window.__noReload = true")

    with running_consumer(app, HEARTBEAT_SECONDS="1") as consumer:
        expect(alive).to_have_count(1, timeout=DRAIN_TIMEOUT_S * 1000)
        # Each step enqueues more work (the notify step's emails), so wait until all is done:
        # nothing pending, and at least the batch's steps and emails completed.
        _wait_until(
            lambda: _number(pending) == 0 and _number(completed) >= 2 * BATCH,
            "the queue drained and the batch completed",
            DRAIN_TIMEOUT_S,
        )
        assert _number(failed) == FAILING, consumer.output()
        assert int(chart.get_attribute("data-total")) >= 2 * BATCH + FAILING
        expect(chart.locator("rect.bar-ok").first).to_be_visible()
        expect(chart.locator("rect.bar-bad").first).to_be_visible()
        expect(chart.locator("polyline.rate-line")).to_have_count(1)
        expect(page.locator("#figure-consumers")).to_have_text("1")
        expect(alive.locator(".badge")).to_have_text("alive")
        expect(page.get_by_role("cell", name="steward.run_step")).to_be_visible()
        if UPDATE_SCREENSHOTS:
            # The 24-hour workflow view refreshes every 30 s; the README's picture waits for it
            # to show the batch's outcome, which ordinary runs need not spend time on.
            expect(page.get_by_text(f"succeeded {BATCH}")).to_be_visible(timeout=40_000)
        assert page.evaluate("window.__noReload") is True
        page.screenshot(path=tmp_path / "queues.png", full_page=True)

    assert (tmp_path / "queues.png").stat().st_size > 10_000
    # The README's screenshot is regenerated on purpose only, never by an ordinary run.
    if UPDATE_SCREENSHOTS:
        shutil.copyfile(tmp_path / "queues.png", SCREENSHOT)
