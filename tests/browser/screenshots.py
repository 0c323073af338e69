"""Screenshots of the main pages at 1366 and 390 px into static/screenshots/, on a fresh demo.

    make screenshots                      # or: .venv/bin/python -m tests.browser.screenshots
    .venv/bin/python -m tests.browser.screenshots inbox policies   # only these
    .venv/bin/python -m tests.browser.screenshots --dark           # also the dark scheme

A throwaway SQLite database is migrated and filled with `flask seed-demo`, the app is served on
a free local port, and Debian's Chromium logs in as each page's role. The 1366 px shot keeps
the name the README uses (inbox.png); the phone's is inbox-390.png, dark ones add -dark.
A page that does not answer 200 is reported and skipped (the run still succeeds), so the list
may name pages that another branch adds. Not a test: never run by pytest (no test_ prefix)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "static" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (1366, 390)

# (file name, path, role): the demo's ids are stable on a fresh database.
PAGES = [
    ("dashboard", "/dashboard", "admin"),
    ("policies", "/policies", "owner"),
    ("policy", "/policies/1", "owner"),
    ("compare", "/policies/1/compare", "owner"),
    ("inbox", "/approvals", "approver"),
    ("tasks", "/tasks", "approver"),
    ("executions", "/executions", "admin"),
    ("execution", "/executions/1", "admin"),
    ("workflows", "/workflows", "admin"),
    ("workflow", "/workflows/1", "admin"),
    ("designer", "/workflows/1/design/steps/legal", "admin"),
    ("workflow-form", "/workflows/1/edit", "admin"),
    ("workflow-gallery", "/workflows/gallery", "admin"),
    ("workflow-import", "/workflows/import", "admin"),
    ("notifications", "/notifications", "owner"),
    ("acknowledgements", "/acknowledgements/campaigns/1", "admin"),
    ("to-acknowledge", "/acknowledgements", "viewer"),
    ("policy-exceptions", "/policy-exceptions", "admin"),
    ("queues", "/admin/queues", "admin"),
    ("users", "/admin/users", "admin"),
    ("audit", "/admin/audit", "admin"),
    ("outbox", "/admin/outbox", "admin"),
    ("account", "/account", "viewer"),
    ("api-docs", "/api/docs", "admin"),
]
LOGINS = {
    "admin": "admin@example.org",
    "owner": "olivia@example.org",
    "approver": "priya@example.org",
    "viewer": "victor@example.org",
}


def _demo_app(workdir: Path):
    # Before create_app: Config() reads the environment when it is built.
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'steward.db'}"
    os.environ["HUEY_SQLITE_PATH"] = str(workdir / "huey.db")
    from governance import create_app

    app = create_app()
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["seed-demo"]):
        result = runner.invoke(args=command)
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{result.output}")
    return app


def _serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="screenshots", daemon=True).start()
    return server


def _log_in(context, base_url: str, role: str, password: str):
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(LOGINS[role])
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/policies")
    return page


def _shoot(page, url: str, target: Path) -> str | None:
    """Saves the page at `url` as `target`; the reason when it could not."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    response = page.goto(url)
    if response is None or response.status != 200:
        return f"status {response.status if response else 'none'}"
    # Pages that poll (queues, executions) are idle only between polls; at worst wait 5 s.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.screenshot(path=target, full_page=True)
    shrink(target)
    return None


def shrink(path: Path) -> None:
    """The PNG in 256 colours without dithering: a flat interface looks the same at about a
    third of the size (Pillow is installed with xhtml2pdf)."""
    from PIL import Image

    with Image.open(path) as image:
        flat = image.convert("RGB").quantize(256, dither=Image.Dither.NONE)
    flat.save(path, optimize=True)


def take(names: list[str], dark: bool, out: Path) -> int:
    """Takes the screenshots; returns how many pages were skipped."""
    from playwright.sync_api import sync_playwright

    from devdata.demo import DEMO_PASSWORD

    unknown = set(names) - {name for name, _, _ in PAGES}
    if unknown:
        raise SystemExit(f"Unknown page(s): {', '.join(sorted(unknown))}")
    chosen = [page for page in PAGES if not names or page[0] in names]
    out.mkdir(parents=True, exist_ok=True)
    skipped = 0
    with tempfile.TemporaryDirectory(prefix="steward-shots-") as workdir:
        server = _serve(_demo_app(Path(workdir)))
        base_url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                for scheme in ["light", "dark"] if dark else ["light"]:
                    for width in WIDTHS:
                        suffix = ("" if width == WIDTHS[0] else f"-{width}") + (
                            "-dark" if scheme == "dark" else ""
                        )
                        pages: dict = {}  # one logged-in page per role
                        for name, path, role in chosen:
                            if role not in pages:
                                context = browser.new_context(
                                    viewport={"width": width, "height": 900},
                                    color_scheme=scheme,
                                    timezone_id="Europe/Berlin",
                                )
                                pages[role] = _log_in(context, base_url, role, DEMO_PASSWORD)
                            target = out / f"{name}{suffix}.png"
                            problem = _shoot(pages[role], base_url + path, target)
                            if problem:
                                skipped += 1
                                print(f"skipped {name} ({path}): {problem}", file=sys.stderr)
                            else:
                                print(f"saved {target}")
                        for page in pages.values():
                            page.context.close()
                browser.close()
        finally:
            server.shutdown()
    return skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these pages (default: all)")
    parser.add_argument("--dark", action="store_true", help="also the dark colour scheme")
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory (default: {OUT})")
    args = parser.parse_args(argv)
    skipped = take(args.names, args.dark, args.out)
    if skipped:
        print(f"{skipped} screenshot(s) skipped, see above", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
