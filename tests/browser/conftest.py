"""Browser fixtures: the test app served on a real port, and a Chromium page that fails the test
when the page logs a JavaScript error or a Content Security Policy violation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

from tests.conftest import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Short enough that a missing element fails the test in seconds, not half a minute.
TIMEOUT_MS = 5_000


@dataclass
class LiveServer:
    url: str
    # Unhandled exceptions inside views: the user sees an error page, the test should fail.
    server_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[LiveServer]:
    """The session `app` (and so the test database) served on 127.0.0.1 at a free port."""
    # Port 0: the operating system picks a free port, so parallel runs never collide.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}")

    def record(sender, exception, **extra) -> None:
        live.server_errors.append(repr(exception))

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        got_request_exception.disconnect(record, app)


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole run (launching takes a second or two); pages are per test."""
    if not CHROMIUM.exists():
        require_service(False, "Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class BrowserProblems:
    """Collects what a person would never see but a broken page shows in the console."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        # A 4xx/5xx response is logged as "Failed to load resource"; tests assert on statuses
        # themselves. CSP violations ("... violates the following Content Security Policy
        # directive ...") and errors that scripts such as htmx log are kept.
        if text.startswith("Failed to load resource") and "Content Security Policy" not in text:
            return
        self.messages.append(f"console error: {text}")


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


@pytest.fixture
def new_page(chromium, live_server, browser_problems):
    """new_page(**context_options) -> a page in a fresh browser context (its own cookies),
    watched for JavaScript errors and CSP violations. Closed after the test."""
    contexts = []

    def _new_page(**options):
        context = chromium.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        browser_problems.watch(page)
        return page

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def browser_page(new_page, live_server, browser_problems):
    """A logged-out page on the live server; the test fails if any page it opened logged a JS
    error or CSP violation, or if a view raised."""
    server_errors_before = len(live_server.server_errors)
    yield new_page(viewport={"width": 1280, "height": 800})
    assert not browser_problems.messages, "\n".join(browser_problems.messages)
    assert live_server.server_errors[server_errors_before:] == []
