"""Every page each role can reach, checked by axe-core in Chromium: no serious or critical
violation, in the light colour scheme and (on the main pages) the dark one. The pages are every
GET page of the app's url_map that takes no argument, the pages of one object of each kind
(factories.make_access_world plus a waiting approval, a campaign, a failed job), the login page
logged out, and the 403 and 404 pages.

axe-core comes from npm (tests/js/package.json, installed by `make test`); without it the test
skips, and under STEWARD_REQUIRE_SERVICES=1 (CI) fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from governance.acknowledgements import service as acks
from governance.extensions import db
from governance.queues.models import JobRecord, JobStatus
from governance.timeutil import utcnow
from tests import factories
from tests.browser.test_policy_editing import log_in
from tests.conftest import require_service

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "js" / "node_modules" / "axe-core" / "axe.min.js"
ROLES = ("admin", "owner", "approver", "viewer")
BLOCKING = ("serious", "critical")

# GET endpoints without arguments that are no page of their own: fragments htmx asks for,
# files, JSON, and old addresses that redirect to a page already on the list.
NOT_PAGES = {
    "static",
    "web.nav_counts",
    "workflows.policy_picker_options",
    "queues.live",
    "queues.workflows",
    "health.health",
    "health.queues",
    "audit.export_csv",
    "audit.download_checkpoints",
    "audit.old_index",
    "evidence.policies_csv",
}

# The pages of one object of each kind ({names} from _world), and list pages in another state.
OBJECT_PAGES = [
    "/policies/{draft}",
    "/policies/{draft}/edit",
    "/policies/{draft}/revisions",
    "/policies/{draft}/revisions/1",
    "/policies/{beside}/compare",
    "/policies/{published}",
    "/policies/{published}/versions",
    "/policies/{published}/versions/1.0",
    "/policies/{published}/acknowledgement",
    "/policies/{published}/acknowledgements",
    "/policies/{published}/exceptions/new",
    "/policies?q=Policy",
    "/executions/{exception_execution}",
    "/executions/{draft_execution}",
    "/executions/{waiting_execution}",
    "/executions?policy={published}",
    "/approvals?tab=decided",
    "/approvals/{waiting_request}/delegate",
    "/tasks?tab=done",
    "/policy-exceptions/{exception}",
    "/evidence/{pack}",
    "/acknowledgements/campaigns/{campaign}",
    "/acknowledgements/{ack}",
    "/workflows/{workflow}",
    "/workflows/{workflow}/edit",
    "/workflows/{workflow}/dry-run",
    "/admin/users/{owner}",
    "/admin/groups/{group}",
    "/admin/outbox/{email}",
    "/admin/queues/jobs/{job}",
    "/account/tokens/{token}/revoke",
]
# The dark colour scheme is checked on these (each as the roles that reach it).
DARK_PAGES = [
    "/policies",
    "/policies/{draft}",
    "/approvals",
    "/executions/{waiting_execution}",
    "/workflows/{workflow}/edit",
    "/admin/queues",
    "/account",
]


DUPLICATE_IDS = """() => {
  const counts = new Map();
  for (const element of document.querySelectorAll("[id]")) {
    counts.set(element.id, (counts.get(element.id) || 0) + 1);
  }
  return [...counts].filter(([, count]) => count > 1).map(([id]) => id);
}"""


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        require_service(False, f"axe-core is not installed at {AXE} (make js-tools)")
    return AXE.read_text()


def _world(users, role: str) -> dict:
    """One object of each kind, with a second policy waiting for the approver's decision, an
    acknowledgement campaign everyone is asked in (and `role`'s own acknowledgement in it), and
    a failed job."""
    from governance.acknowledgements.models import Acknowledgement
    from governance.notifications.models import OutboundEmail

    world = factories.make_access_world(users)
    admin, approver = users["admin"], users["approver"]
    world["workflow"] = factories.make_workflow(
        admin,
        name="Approval on submit",
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[factories.step("legal", "approval", {"users": [approver.id], "rule": "any"})]],
    ).id
    waiting = factories.submit_for_review(users, title="Waiting Policy")
    [request] = [
        item for item in factories.approval_requests(db) if item.execution.policy_id == waiting.id
    ]
    world["waiting_request"] = request.id
    world["waiting_execution"] = request.execution_id
    world["campaign"] = acks.update_settings(
        world["published"],
        acks.AckSettings(required=True, everyone=True, group_ids=[]),
        actor=users["owner"],
    )
    job = JobRecord(
        task_id="a11y-failed",
        task_name="steward.run_step",
        args=[1],
        status=JobStatus.ERROR,
        attempts=5,
        error="ConnectionError: the webhook's host did not answer",
        traceback="Traceback (most recent call last):\n  ...\nConnectionError\n",
        finished_at=utcnow(),
    )
    db.session.add(job)
    db.session.commit()
    world["job"] = job.id
    world["email"] = db.session.scalar(db.select(OutboundEmail.id).limit(1))
    world["ack"] = db.session.scalar(
        db.select(Acknowledgement.id).where(
            Acknowledgement.campaign_id == world["campaign"],
            Acknowledgement.user_id == users[role].id,
        )
    )
    world["owner"] = users["owner"].id
    world["group"] = users["approver"].groups[0].id
    assert all(value is not None for value in world.values()), world
    return world


def _pages_without_arguments(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and not rule.arguments
        and rule.endpoint not in NOT_PAGES
        and not rule.rule.startswith("/api/v1")
    )


def _violations(page: Page, axe_source: str, label: str) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line per element,
    and any id used twice."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    # axe no longer checks ids used twice unless ARIA refers to them; a label's `for`, a link's
    # #fragment or htmx's target would find the wrong element all the same.
    found = [
        f"{label}: id {name!r} is used more than once" for name in page.evaluate(DUPLICATE_IDS)
    ]
    for violation in results["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            found.append(
                f"{label}: {violation['id']} ({violation['impact']}: {violation['help']}) "
                f"at {' > '.join(map(str, node['target']))}: {node['failureSummary']}"
            )
    return found


def _check(page: Page, axe_source: str, url: str, label: str) -> list[str] | None:
    """Open `url` and check it; None when the role may not see it (403 or 404)."""
    response = page.goto(url)
    assert response is not None
    if response.status in (403, 404):
        return None
    assert response.status == 200, f"{label}: HTTP {response.status}"
    if "text/html" not in response.headers.get("content-type", ""):
        return []
    return _violations(page, axe_source, label)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_reaches_has_no_serious_accessibility_violation(
    app, users, new_page, browser_problems, live_server, axe_source, role
):
    with app.app_context():
        world = _world(users, role)
    urls = _pages_without_arguments(app) + [url.format(**world) for url in OBJECT_PAGES]
    page = new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    if role == "viewer":  # the pages before logging in, once
        problems += _check(page, axe_source, "/login", "logged out /login") or []
        page.goto("/no-such-page")
        problems += _violations(page, axe_source, "logged out 404")
    log_in(page, users[role].email)
    checked, refused = [], []
    for url in urls:
        found = _check(page, axe_source, url, f"{role} {url}")
        if found is None:
            refused.append(url)
        else:
            checked.append(url)
            problems += found
    page.goto("/no-such-page")
    problems += _violations(page, axe_source, f"{role} 404")
    page.emulate_media(color_scheme="dark")
    for url in DARK_PAGES:
        found = _check(page, axe_source, url.format(**world), f"{role} dark {url}")
        problems += found or []
    if refused:  # a page this role may not open: the 403 (or 404) page it gets instead
        page.emulate_media(color_scheme="light")
        page.goto(refused[0])
        problems += _violations(page, axe_source, f"{role} refused {refused[0]}")
    assert len(checked) > 20, (checked, refused)
    assert problems == [], f"{len(problems)} violations:\n" + "\n".join(problems)
    assert not browser_problems.messages, "\n".join(browser_problems.messages)
    assert live_server.server_errors == []


def _assert_linked_error(page: Page, label: str, message: str) -> None:
    """The field is marked invalid, reads its error as its description, and the summary at the
    top of the form (announced: role=alert) links to it."""
    field = page.get_by_label(label, exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    field_id = field.get_attribute("id")
    summary = page.get_by_role("alert").filter(has=page.locator(f'a[href="#{field_id}"]'))
    expect(summary.get_by_role("link", name=label, exact=True)).to_be_visible()


def test_form_errors_are_announced_and_linked_to_their_fields(
    app, users, browser_page: Page, axe_source
):
    page = browser_page
    page.goto("/login")
    page.get_by_role("button", name="Log in").click()
    _assert_linked_error(page, "Email", "This field is required.")
    _assert_linked_error(page, "Password", "This field is required.")
    assert _violations(page, axe_source, "/login with errors") == []
    page.get_by_label("Email").fill(users["owner"].email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is not correct.")

    log_in(page, users["owner"].email)
    page.goto("/policies/new")
    page.get_by_role("button", name="Create draft").click()
    _assert_linked_error(page, "Title", "Give the policy a title.")
    assert _violations(page, axe_source, "/policies/new with errors") == []

    page.goto("/account")
    page.get_by_label("Current password").fill(factories.PASSWORD)
    page.get_by_label("New password", exact=True).fill("a long and quiet meadow of words")
    page.get_by_label("Repeat the new password").fill("something else entirely here")
    page.get_by_role("button", name="Change password").click()
    _assert_linked_error(page, "Repeat the new password", "The passwords differ.")
    # The new password's hint stays part of its description beside any error.
    expect(page.get_by_label("New password", exact=True)).to_have_accessible_description(
        re.compile("At least")
    )
    assert _violations(page, axe_source, "/account with errors") == []


def test_pages_in_their_other_states_have_no_serious_accessibility_violation(
    app, users, new_page, browser_problems, axe_source
):
    """What only a click shows: the open Admin menu, the phone's open menu, the designer and an
    inbox item with their errors, an item decided in place."""
    with app.app_context():
        world = _world(users, "approver")
    problems: list[str] = []
    admin = new_page(viewport={"width": 1280, "height": 800})
    log_in(admin, users["admin"].email)
    admin.get_by_role("navigation", name="Main").get_by_text("Admin", exact=True).click()
    expect(admin.locator("#nav-admin")).to_have_attribute("open", "")
    problems += _violations(admin, axe_source, "admin menu open")
    admin.goto(f"/workflows/{world['workflow']}/edit")
    admin.get_by_label("Name").fill("")
    admin.get_by_role("button", name="Save version").click()
    expect(admin.get_by_role("alert")).to_be_visible()
    name = admin.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(admin.get_by_role("alert").locator('a[href="#name"]')).to_be_visible()
    problems += _violations(admin, axe_source, "designer with errors")

    phone = new_page(viewport={"width": 390, "height": 844})
    log_in(phone, users["approver"].email)
    phone.get_by_text("Menu", exact=True).click()
    expect(
        phone.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks")
    ).to_be_visible()
    problems += _violations(phone, axe_source, "390 px, menu open")
    phone.goto("/approvals")
    item = phone.locator(f"#request-{world['waiting_request']}")
    item.get_by_role("button", name="Reject").click()
    expect(item.get_by_role("alert")).to_contain_text("reason")
    problems += _violations(phone, axe_source, "390 px, inbox item with its error")
    item.get_by_label("Comment").fill("Fine.")
    item.get_by_role("button", name="Approve").click()
    expect(phone.locator(".inbox-item-done")).to_contain_text("Approved")
    problems += _violations(phone, axe_source, "390 px, inbox item decided")
    assert problems == [], f"{len(problems)} violations:\n" + "\n".join(problems)
    assert not browser_problems.messages, "\n".join(browser_problems.messages)
