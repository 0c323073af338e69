"""Every route, as every role, with hostile values in each path parameter, each query parameter
its view reads and each form field a page offers: never a 5xx, and a refused POST changes nothing.

The routes come from the URL map and the parameters from what the views actually read while the
walk runs, so a new route, a new filter or a new form field is walked without editing this file.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import sqlalchemy as sa
from flask import Request
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from governance.extensions import db as _db
from tests import factories

HOSTILE = [
    "99999999999999999999",
    "2147483648",
    "9223372036854775808",
    "-1",
    "0",
    "abc",
    "0001-01-01",
    "9999-12-31",
    "x" * 10240,
    "a\x00b",
    "\u202egnp.exe",
    "1.5",
    "",
]
ROLES = [None, "admin", "owner", "approver", "viewer"]
# POST /logout would end the walker's own session and leave the rest of the walk anonymous.
SKIPPED_ENDPOINTS = {"auth.logout"}
# A valid value for each kind of path parameter, so the others reach the view while one is hostile.
VALID_PATH_VALUES = {"int": "1", "default": "1.0", "path": "app.css"}
_NAME_ATTRIBUTE = re.compile(r'\bname="([^"]+)"')
# The JSON API takes JSON bodies (tests/api checks those against its schema); its paths and
# query strings are walked here.
API_PREFIX = "/api/"
# The health endpoints answer 503 when a dependency (here: a queue consumer) is missing: that is
# what load balancers read them for, not a failure.
HEALTH_PREFIX = "/health"


# The query and form keys the views read during the current request.
_read_keys: set[str] = set()


class RecordingMultiDict(ImmutableMultiDict):
    """The request's args and form, noting each key a view asks for."""

    def get(self, key, default=None, type=None):
        _read_keys.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        _read_keys.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        _read_keys.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _read_keys.add(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingMultiDict


@dataclass
class Walk:
    failures: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    requests: int = 0
    form_names: set[str] = field(default_factory=set)

    def send(self, client, role, method: str, url: str, **kwargs):
        """The response, or None after noting a 5xx (or an error raised while streaming)."""
        self.requests += 1
        label = f"{role or 'anonymous'} {method} {url[:100]!r} {_describe(kwargs)}".rstrip()
        try:
            response = client.open(url, method=method, **kwargs)
            response.get_data()  # a streamed body (CSV) runs its generator now
            response.close()
        except Exception as error:  # a failure to list, not to stop at
            self.failures.append(f"{label} -> raised {type(error).__name__}: {error}")
            return None
        reports_health = url.startswith(HEALTH_PREFIX) and response.status_code == 503
        if response.status_code >= 500 and not reports_health:
            self.failures.append(f"{label} -> {response.status_code}")
            return None
        return response


def _describe(kwargs: dict) -> str:
    if "query_string" in kwargs:
        return "?" + " ".join(f"{k}={v[:20]!r}" for k, v in kwargs["query_string"].items())
    if "data" in kwargs and len(kwargs["data"]) > 1:
        return f"(form fields = {next(iter(kwargs['data'].values()))[:20]!r})"
    return ""


def _seed(users, api_token) -> dict:
    """Real objects with small ids, so a valid path reaches the view behind the hostile one."""
    admin, owner = users["admin"], users["owner"]
    factories.make_workflow(
        admin,
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[
            [factories.step("legal", "approval", {"groups": [users["approver"].groups[0].id]})]
        ],
    )
    factories.make_policy(owner, "published", admin=admin)
    factories.submit_for_review(users)
    factories.make_policy(owner)
    return {role: api_token(users[role]) for role in ROLES if role}


def _walk_rules(app) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint not in SKIPPED_ENDPOINTS),
        key=lambda rule: rule.rule,
    )


_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _url(rule: Rule, hostile: tuple[str, str] | None = None) -> str:
    """The rule's path with valid values, or with `hostile` = (parameter, value) in one place.

    Built by hand, not with url_for: url_for runs the converters, which refuse hostile values.
    """

    def value(match: re.Match) -> str:
        if hostile and match[2] == hostile[0]:
            return quote(hostile[1], safe="")
        return VALID_PATH_VALUES[match[1] or "default"]

    return _PARAMETER.sub(value, rule.rule)


def _fingerprint() -> tuple[int, ...]:
    """The row count of every table: what a refused POST must leave as it was."""
    tables = _db.metadata.sorted_tables
    query = sa.select(
        *(sa.select(sa.func.count()).select_from(table).scalar_subquery() for table in tables)
    )
    with _db.engine.connect() as connection:
        return tuple(connection.execute(query).one())


def _declared_form_fields() -> set[str]:
    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        names.update(
            name for name, value in vars(form_class).items() if hasattr(value, "field_class")
        )
    return names - {"csrf_token", "submit"}


def test_no_route_answers_5xx_to_hostile_input(app, users, login, api_token, db):
    tokens = _seed(users, api_token)
    clients = {None: _anonymous(app)} | {role: login(users[role]) for role in ROLES if role}
    csrf = {
        role: client.csrf_token("/login" if role is None else "/account")
        for role, client in clients.items()
    }
    rules = _walk_rules(app)
    walk = Walk()
    started = time.monotonic()
    original_request_class = app.request_class
    app.request_class = RecordingRequest
    try:
        for role, client in clients.items():
            for rule in rules:
                if "GET" in rule.methods:
                    _walk_get(walk, client, role, rule, tokens.get(role))
        walk.form_names |= _declared_form_fields()
        for role, client in clients.items():
            for rule in rules:
                for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
                    _walk_write(walk, client, role, rule, method, csrf[role], tokens.get(role))
    finally:
        app.request_class = original_request_class
    elapsed = time.monotonic() - started
    print(f"hostile walk: {walk.requests} requests over {len(rules)} routes in {elapsed:.1f} s")
    assert not walk.failures, "5xx answers:\n" + "\n".join(walk.failures)
    assert not walk.changed, "refused POSTs that changed rows:\n" + "\n".join(walk.changed)


def _anonymous(app):
    from tests.conftest import WebClient

    app.test_client_class = WebClient
    return app.test_client()


def _headers(rule: Rule, token: str | None) -> dict:
    return (
        {"Authorization": f"Bearer {token}"} if token and rule.rule.startswith(API_PREFIX) else {}
    )


def _refused_at_the_door(response) -> bool:
    """Whether the role was turned away before the view read anything (login, role check).

    What that role sends in the path, query or form never reaches a parser, so the walk spends
    its time on the roles the view serves.
    """
    if response is None:
        return False
    if response.status_code in (401, 403):
        return True
    return response.status_code in (301, 302, 303) and "/login" in response.location


def _walk_get(walk: Walk, client, role, rule: Rule, token) -> None:
    headers = _headers(rule, token)
    url = _url(rule)
    _read_keys.clear()
    response = walk.send(client, role, "GET", url, headers=headers)
    read = set(_read_keys)
    if _refused_at_the_door(response):
        return
    if response is not None and response.mimetype == "text/html":
        walk.form_names |= set(_NAME_ATTRIBUTE.findall(response.get_data(as_text=True)))
    for parameter in rule.arguments:
        for value in HOSTILE:
            walk.send(client, role, "GET", _url(rule, (parameter, value)), headers=headers)
    for name in sorted(read):
        for value in HOSTILE:
            walk.send(client, role, "GET", url, query_string={name: value}, headers=headers)


def _walk_write(walk: Walk, client, role, rule: Rule, method: str, csrf: str, token) -> None:
    headers = _headers(rule, token)
    url = _url(rule)
    if rule.rule.startswith(API_PREFIX):
        door = walk.send(client, role, method, url, headers=headers)
        if _refused_at_the_door(door):
            return
    else:
        for value in HOSTILE:
            data = {name: value for name in sorted(walk.form_names)} | {"csrf_token": csrf}
            before = _fingerprint()
            response = walk.send(client, role, method, url, data=data, headers=headers)
            if _refused_at_the_door(response):
                return
            refused = response is not None and (
                response.status_code == 200 or response.status_code >= 400
            )
            if refused and _fingerprint() != before:
                walk.changed.append(f"{role or 'anonymous'} {method} {url} with {value[:20]!r}")
    for parameter in rule.arguments:
        for value in HOSTILE:
            walk.send(
                client,
                role,
                method,
                _url(rule, (parameter, value)),
                data={"csrf_token": csrf},
                headers=headers,
            )
