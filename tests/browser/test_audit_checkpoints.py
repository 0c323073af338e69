"""An admin finds the audit trail's signed checkpoints and downloads them, and the file they
keep is what `flask verify-audit --checkpoints` checks the chain against."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from governance.audit.checkpoint_writer import write_checkpoint
from governance.timeutil import utcnow
from tests import factories
from tests.browser.test_policy_editing import log_in, open_admin_page

pytestmark = pytest.mark.browser


def test_admin_downloads_the_checkpoints_that_verify_audit_then_checks(
    app, browser_page: Page, tmp_path
):
    with app.app_context():
        factories.make_user("admin", email="ada@example.test", name="Ada Admin")
        owner = factories.make_user("owner", email="olivia@example.test", name="Olivia Owner")
        factories.make_policy(owner, title="Access Control")
        checkpoint = write_checkpoint(utcnow())
    page = browser_page
    log_in(page, "ada@example.test")

    open_admin_page(page, "Audit")
    expect(page).to_have_url(re.compile(r"/admin/audit$"))
    page.get_by_role("link", name="signed checkpoints").click()
    section = page.locator("#audit-checkpoints")
    expect(section.get_by_role("heading", name="Checkpoints")).to_be_in_viewport()
    expect(section.get_by_text("1 signed checkpoint:")).to_be_visible()
    expect(section.locator(f"#audit-checkpoint-{checkpoint.seq}")).to_contain_text(
        checkpoint.head_hash[:12]
    )

    with page.expect_download() as download_info:
        section.get_by_role("link", name="Download all (JSON lines)").click()
    kept = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(kept)
    assert kept.suffix == ".jsonl"

    result = app.test_cli_runner().invoke(args=["verify-audit", "--checkpoints", str(kept)])
    assert result.exit_code == 0, result.output
    assert f"Checkpoints: 1 verified, the last at position {checkpoint.seq}." in result.output
