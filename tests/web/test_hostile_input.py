"""Every route, as every role, with hostile values in each path parameter, each query parameter
its view reads and each form field a page offers: never a 5xx, and a refused POST changes nothing.

The routes come from the URL map (what `flask routes` lists) and the parameters from what the
views actually read while the walk runs (the API's from its OpenAPI document), so a new route, a
new filter or a new form field is walked without editing this file.

To stay fast (it runs twice in CI), the walk sends each hostile query value and each hostile form
once per route, by the roles the view serves in turn, and hostile ids in paths once (they are
refused while routing, before any role is known).
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Request
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from governance.extensions import db as _db
from governance.web.params import IdConverter
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
VALID_PATH_VALUES = {"int": "1", "default": "1.0", "path": "steward.css"}
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
    # The API reads its query through its schema, so its parameters come from its document.
    api_query: dict[str, set[str]] = field(default_factory=dict)

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


COUNTS_REFUSALS = {"login_failures"}


def _fingerprint() -> tuple[int, ...]:
    """The row count of every table: what a refused POST must leave as it was. Not the login
    throttle's counts: a refused login is meant to count against its account and address."""
    tables = [table for table in _db.metadata.sorted_tables if table.name not in COUNTS_REFUSALS]
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
    walk = Walk(api_query=_api_query_parameters(app))
    started, cpu_started = time.monotonic(), time.process_time()
    original_request_class = app.request_class
    app.request_class = RecordingRequest
    try:
        for rule in rules:
            if "GET" in rule.methods:
                _walk_get(walk, clients, rule, tokens)
        walk.form_names |= _declared_form_fields()
        for rule in rules:
            for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
                _walk_write(walk, clients, rule, method, csrf, tokens)
    finally:
        app.request_class = original_request_class
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    print(
        f"hostile walk: {walk.requests} requests over {len(rules)} routes "
        f"in {elapsed:.1f} s ({cpu:.1f} s of CPU)"
    )
    assert not walk.failures, "5xx answers:\n" + "\n".join(walk.failures)
    assert not walk.changed, "refused POSTs that changed rows:\n" + "\n".join(walk.changed)


def _api_query_parameters(app) -> dict[str, set[str]]:
    """{"/api/v1/policies": {"q", "cursor", ...}}: each GET operation's documented query."""
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return {
        path: {p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"}
        for path, operations in spec["paths"].items()
        if "get" in operations
    }


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


def _as_htmx(role, index: int) -> dict:
    """Every other hostile value comes as htmx sends it (the fragment: cheaper, without the
    navigation's counts), alternating between roles so the page and the fragment both meet each.
    """
    return {"HX-Request": "true"} if (index + ROLES.index(role)) % 2 else {}


def _routed_to_the_view(rule: Rule, parameter: str) -> bool:
    """Whether a hostile value in this path parameter can reach the view.

    The `int` converter refuses every hostile value while routing, before the login or role
    check, so one walk (anonymous, the cheapest) proves it for every route; string and path
    parameters reach the view and are walked as every role.
    """
    return not isinstance(rule._converters[parameter], IdConverter)


def _walk_get(walk: Walk, clients: dict, rule: Rule, tokens: dict) -> None:
    url = _url(rule)
    readers: dict[str, list] = {}  # query parameter -> the roles whose view read it
    for role, client in clients.items():
        headers = _headers(rule, tokens.get(role))
        _read_keys.clear()
        response = walk.send(client, role, "GET", url, headers=headers)
        door = _refused_at_the_door(response)
        if response is not None and not door and response.mimetype == "text/html":
            walk.form_names |= set(_NAME_ATTRIBUTE.findall(response.get_data(as_text=True)))
        _walk_path(walk, client, role, rule, "GET", door, headers=headers)
        if not door:
            for name in _read_keys | walk.api_query.get(_PARAMETER.sub(r"{\2}", rule.rule), set()):
                readers.setdefault(name, []).append(role)
    # Each hostile value of a query parameter is sent once, by the roles whose view reads it in
    # turn: parsing a query string does not depend on the role, and the walk stays fast.
    for turn, name in enumerate(sorted(readers)):
        for index, value in enumerate(HOSTILE):
            role = readers[name][(turn + index) % len(readers[name])]
            walk.send(
                clients[role],
                role,
                "GET",
                url,
                query_string={name: value},
                headers=_headers(rule, tokens.get(role)) | _as_htmx(role, index),
            )


def _walk_path(walk: Walk, client, role, rule: Rule, method: str, door: bool, **kwargs) -> None:
    for parameter in rule.arguments:
        if role is None or (not door and _routed_to_the_view(rule, parameter)):
            for value in HOSTILE:
                walk.send(client, role, method, _url(rule, (parameter, value)), **kwargs)


def _walk_write(walk: Walk, clients: dict, rule: Rule, method: str, csrf: dict, tokens: dict):
    url = _url(rule)
    refused_roles = set()
    if rule.rule.startswith(API_PREFIX):
        for role, client in clients.items():
            response = walk.send(
                client, role, method, url, headers=_headers(rule, tokens.get(role))
            )
            if _refused_at_the_door(response):
                refused_roles.add(role)
    else:
        # Like the query values: each hostile form is posted once, by the roles the view serves
        # in turn (a role turned away at the door hands its turn on).
        turns = itertools.cycle(list(clients))
        serving = set(clients)
        for index in range(len(HOSTILE)):
            while serving:
                role = next(turns)
                if role not in serving:
                    continue
                if _post_hostile_form(walk, clients[role], role, rule, method, csrf[role], index):
                    break
                serving.discard(role)
                refused_roles.add(role)
    for role, client in clients.items():
        kwargs = {"data": {"csrf_token": csrf[role]}, "headers": _headers(rule, tokens.get(role))}
        _walk_path(walk, client, role, rule, method, role in refused_roles, **kwargs)


def _post_hostile_form(walk: Walk, client, role, rule: Rule, method: str, csrf: str, index: int):
    """Post HOSTILE[index] in every known field; False if the role was turned away at the door."""
    url, value = _url(rule), HOSTILE[index]
    data = {name: value for name in sorted(walk.form_names)} | {"csrf_token": csrf}
    htmx = _as_htmx(role, index)
    before = _fingerprint()
    response = walk.send(client, role, method, url, data=data, headers=htmx)
    if _refused_at_the_door(response):
        return False
    # A page form that saved redirects; a 200 shows it again with its errors. htmx gets 200
    # either way, so only its 4xx count as refusals.
    refused = response is not None and (
        response.status_code >= 400 or (response.status_code == 200 and not htmx)
    )
    if refused and _fingerprint() != before:
        walk.changed.append(f"{role or 'anonymous'} {method} {url} with {value[:20]!r}")
    return True


# The requests the tester reported (issue 23), each with the answer it now gets.


@pytest.mark.parametrize(
    "url",
    [
        "/executions/99999999999999999999",
        "/admin/users/99999999999999999999",
        "/admin/users/9223372036854775808",
        "/policies/99999999999999999999/edit",
    ],
)
def test_an_id_no_row_can_have_is_not_found(as_role, users, db, url):
    response = as_role("admin").get(url)
    assert response.status_code == 404
    assert "There is nothing here" in response.get_data(as_text=True)


def test_an_out_of_range_filter_is_refused_with_the_reason(as_role, users, db):
    client = as_role("admin")
    page = client.get("/admin/audit?object_id=99999999999999999999").get_data(as_text=True)
    assert "The object id: Enter a whole number from 1 to 2147483647." in page
    export = client.get("/admin/audit.csv?object_id=99999999999999999999")
    assert export.status_code == 400
    assert "Enter a whole number from 1 to 2147483647." in export.get_data(as_text=True)
    listed = client.get("/policies?owner=9223372036854775808")
    assert listed.status_code == 400
    assert "“owner” in the address: Enter a whole number" in listed.get_data(as_text=True)
    dated = client.get("/executions?to=9999-12-31")
    assert dated.status_code == 400
    assert "Dates must be between 1900-01-01 and 2999-12-31." in dated.get_data(as_text=True)


def test_a_dry_run_with_an_impossible_policy_id_says_so(as_role, users, db):
    workflow = factories.make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[factories.step("todo", "create_task", {"title": "One", "assignee": "owner"})]],
    )
    response = as_role("admin").get(
        f"/workflows/{workflow.id}/dry-run?policy_id=99999999999999999999"
    )
    assert response.status_code == 200
    assert "The policy id: Enter a whole number from 1 to 2147483647." in response.get_data(
        as_text=True
    )


def test_a_bulk_decision_with_ids_that_are_not_ids_is_refused_and_decides_nothing(
    as_role, users, db
):
    factories.make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[factories.step("review", "approval", {"users": [users["approver"].id]})]],
    )
    factories.submit_for_review(users)
    request = factories.approval_requests(db)[0]
    client = as_role("approver")
    for forged in ("²", "99999999999999999999", "abc"):
        response = client.submit(
            "/approvals/bulk",
            {"comment": "", "request_ids": [str(request.id), forged]},
            token_from="/approvals",
        )
        assert response.status_code == 400
        assert "“request_ids”: Enter a whole number" in response.get_data(as_text=True)
    assert [r.status for r in factories.approval_requests(db)] == ["pending"]


def test_an_evidence_pack_for_year_one_is_refused_on_the_form(as_role, users, db):
    from governance.evidence.models import EvidencePack

    response = as_role("admin").submit(
        "/evidence", {"period_start": "0001-01-01", "period_end": "0001-01-02"}
    )
    assert response.status_code == 422  # the page's answer to any refused request
    assert "Dates must be between 1900-01-01 and 2999-12-31." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvidencePack)) == 0


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/account/tokens", {"name": "CI", "expires_on": "9999-12-31"}),
        ("/policies/new", {"title": "T", "category": "C", "next_review_on": "0001-01-01"}),
    ],
)
def test_a_date_the_app_cannot_compute_with_is_a_form_error(as_role, users, db, url, data):
    response = as_role("owner").submit(url, data)
    assert response.status_code == 200
    assert "Dates must be between 1900-01-01 and 2999-12-31." in response.get_data(as_text=True)


def test_a_nul_character_is_refused_before_any_view(as_role, users, db):
    from governance.auth.models import Group

    client = as_role("admin")
    searched = client.get("/policies", query_string={"q": "a\x00b"})
    assert searched.status_code == 400
    assert "NUL character" in searched.get_data(as_text=True)
    assert client.get("/policies/1/versions/a%00b").status_code == 400
    posted = client.submit("/admin/groups", {"name": "Le\x00gal"})
    assert posted.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == 2  # the fixture's


@pytest.mark.parametrize(
    ("step_type", "config"),
    [
        ("assign", {"role": "owner", "user_id": "{value}"}),
        ("create_task", {"title": "Do it", "assignee": "{value}"}),
        ("create_task", {"title": "Do it", "assignee": "owner", "assignee_group_id": "{value}"}),
        ("approval", {"users": "{value}"}),
        ("notify", {"users": "{value}", "subject": "Hi"}),
    ],
)
def test_a_designed_step_with_an_impossible_id_is_a_form_error(
    as_role, users, db, step_type, config
):
    from governance.engine.models import Workflow

    client = as_role("admin")
    for value in ("99999999999999999999", "²", "-1"):
        form = {
            "name": "Hostile ids",
            "trigger-type": "manual",
            "stage-0-present": "1",
            "stage-0-step-0-key": "step",
            "stage-0-step-0-type": step_type,
            "op": "save",
        } | {
            f"stage-0-step-0-cfg-{name}": text.format(value=value) for name, text in config.items()
        }
        response = client.submit("/workflows/new", form)
        assert response.status_code == 200, (value, response.status_code)
        assert "problem" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workflow)) == 0
