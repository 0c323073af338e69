"""Security headers, a page markup the CSP can enforce, htmx hardening, CSRF on htmx requests and
friendly error pages."""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser

import pytest

from tests import factories
from tests.conftest import WebClient

# (role or None for anonymous, url template): pages rendered from the templates.
PAGES = [
    (None, "/login"),
    ("viewer", "/policies"),
    ("owner", "/policies"),
    ("owner", "/policies/new"),
    ("owner", "/policies/{policy}"),
    ("owner", "/policies/{policy}/edit"),
    ("owner", "/policies/{policy}/revisions"),
    ("owner", "/account"),
    ("admin", "/policies/{policy}"),
    ("admin", "/admin/users"),
    ("admin", "/admin/users/new"),
    ("admin", "/admin/users/{user}"),
    ("admin", "/admin/groups"),
    ("admin", "/admin/groups/{group}"),
    ("admin", "/admin/audit"),
    ("viewer", "/admin/users"),  # 403 page
    ("viewer", "/no/such/page"),  # 404 page
]
PAGE_IDS = [f"{role or 'anonymous'} {url}" for role, url in PAGES]


class PageParser(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block, plus the htmx wiring."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.script_sources: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.meta: dict[str, str] = {}
        self.hx_headers: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _value in attrs:
            # on*= handlers, and htmx's hx-on (evaluated like an inline handler).
            if name.startswith("on") or name.startswith(("hx-on", "data-hx-on")):
                self.handlers.append((tag, name))
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
            else:
                self._in_inline_script = True
                self.inline_scripts.append("")
        if tag == "meta" and attributes.get("name"):
            self.meta[attributes["name"]] = attributes.get("content") or ""
        if "hx-headers" in attributes:
            self.hx_headers.append(attributes["hx-headers"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.fixture
def fetch(app, users, db):
    """fetch(role, url) -> the response to GET url, as that role (None: anonymous)."""
    policy = factories.make_policy(users["owner"])
    ids = {
        "policy": policy.id,
        "user": users["viewer"].id,
        "group": users["approver"].groups[0].id,
    }
    clients: dict = {}

    def _fetch(role: str | None, url: str):
        if role not in clients:
            if role is None:
                app.test_client_class = WebClient
                clients[role] = app.test_client()
            else:
                clients[role] = _login(app, users[role])
        return clients[role].get(url.format(**ids))

    return _fetch


def _login(app, user) -> WebClient:
    app.test_client_class = WebClient
    client = app.test_client()
    assert client.login(user.email).status_code == 302
    return client


# Headers


@pytest.mark.parametrize(("role", "url"), PAGES, ids=PAGE_IDS)
def test_every_html_page_sends_a_strict_content_security_policy(fetch, role, url):
    response = fetch(role, url)

    assert response.mimetype == "text/html"
    directives = csp_directives(response.headers["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["default-src"]
    for directive in ("default-src", "script-src", "script-src-elem", "script-src-attr"):
        sources = directives.get(directive, [])
        assert "'unsafe-inline'" not in sources
        assert "'unsafe-eval'" not in sources


@pytest.mark.parametrize(("role", "url"), PAGES, ids=PAGE_IDS)
def test_every_html_page_forbids_sniffing_and_leaking_the_referrer(fetch, role, url):
    response = fetch(role, url)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_redirects_and_static_files_carry_the_security_headers_too(client):
    for response in (client.get("/"), client.get("/static/steward.css")):
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# Markup the CSP can enforce


@pytest.mark.parametrize(("role", "url"), PAGES, ids=PAGE_IDS)
def test_pages_have_no_inline_script_or_event_handler_attribute(fetch, role, url):
    html = fetch(role, url).get_data(as_text=True)
    page = parse(html)

    assert page.inline_scripts == []
    assert page.handlers == []
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE)
    assert "javascript:" not in html.lower()
    assert all(source.startswith("/static/") for source in page.script_sources)


def test_policy_body_cannot_smuggle_script_into_the_page(login, users):
    policy = factories.make_policy(
        users["owner"],
        body='# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n'
        "[click](javascript:alert(3))\n",
    )

    html = login(users["owner"]).get(f"/policies/{policy.id}").get_data(as_text=True)
    page = parse(html)

    assert page.inline_scripts == []
    assert page.handlers == []
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", html, flags=re.IGNORECASE)


# htmx


def test_htmx_is_configured_without_eval_script_tags_or_foreign_requests(client):
    page = parse(client.get("/login").get_data(as_text=True))

    config = json.loads(page.meta["htmx-config"])

    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True


def test_vendored_htmx_is_served_from_static_with_its_version_in_the_name(client):
    page = parse(client.get("/login").get_data(as_text=True))
    htmx = [source for source in page.script_sources if "htmx" in source]

    assert len(htmx) == 1
    assert re.fullmatch(r"/static/htmx-\d+\.\d+\.\d+(\.min)?\.js", htmx[0])
    response = client.get(htmx[0])
    assert response.status_code == 200
    assert "javascript" in response.mimetype
    assert len(response.get_data()) > 10_000


def test_page_hands_htmx_its_csrf_token_as_a_header(login, users):
    client = login(users["owner"])
    page = parse(client.get("/policies").get_data(as_text=True))

    headers = [json.loads(value) for value in page.hx_headers]

    assert any(header.get("X-CSRFToken") for header in headers)


def _htmx_token(client) -> str:
    page = parse(client.get("/policies").get_data(as_text=True))
    return next(json.loads(value)["X-CSRFToken"] for value in page.hx_headers)


def test_htmx_post_without_csrf_token_is_refused(login, users):
    client = login(users["owner"])

    response = client.post("/logout", headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/policies").status_code == 200


def test_htmx_post_with_a_wrong_csrf_header_is_refused(login, users):
    client = login(users["owner"])

    response = client.post(
        "/logout", headers={"HX-Request": "true", "X-CSRFToken": "not-the-token"}
    )

    assert response.status_code == 400
    assert client.get("/policies").status_code == 200


def test_htmx_post_with_the_csrf_header_is_accepted(login, users):
    client = login(users["owner"])
    token = _htmx_token(client)

    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/policies").status_code == 302


def test_csrf_token_of_one_session_does_not_work_in_another(login, users):
    mine = login(users["owner"])
    theirs = login(users["owner"])

    response = theirs.post(
        "/logout", headers={"HX-Request": "true", "X-CSRFToken": _htmx_token(mine)}
    )

    assert response.status_code == 400
    assert theirs.get("/policies").status_code == 200


# Error pages


def _assert_friendly(response, status: int, title: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert f"{title} <span" in html
    assert 'href="/policies"' in html
    assert "Traceback" not in html
    assert "werkzeug" not in html.lower()
    return html


def test_unknown_page_gets_a_friendly_not_found_page(login, users):
    response = login(users["viewer"]).get("/no/such/page")

    html = _assert_friendly(response, 404, "Not found")
    assert "There is nothing here" in html


def test_unknown_policy_gets_a_friendly_not_found_page(login, users):
    response = login(users["viewer"]).get("/policies/99999")

    _assert_friendly(response, 404, "Not found")


def test_forbidden_page_is_friendly(login, users):
    response = login(users["viewer"]).get("/admin/users")

    html = _assert_friendly(response, 403, "Not allowed")
    assert "You do not have permission to do that." in html


def test_htmx_error_is_a_fragment_without_the_layout(login, users):
    response = login(users["viewer"]).get("/admin/users", headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "<html" not in html
    assert 'id="error-403"' in html


def test_unexpected_exception_shows_the_friendly_500_page_and_logs_the_traceback(app, caplog):
    from governance import create_app
    from governance.extensions import db

    # A separate app, so the session app gets no extra route; not TESTING, so nothing propagates.
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert fresh.config["PROPAGATE_EXCEPTIONS"] is not True
    assert not fresh.testing

    def explode():
        raise RuntimeError("secret internal detail")

    fresh.add_url_rule("/explode", "explode", explode)
    try:
        with caplog.at_level(logging.ERROR):
            response = fresh.test_client().get("/explode")

        html = _assert_friendly(response, 500, "Something went wrong")
        assert "secret internal detail" not in html
        assert "RuntimeError" not in html
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        logged = [record for record in caplog.records if record.exc_info]
        assert logged
        assert "secret internal detail" in str(logged[-1].exc_info[1])
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()
