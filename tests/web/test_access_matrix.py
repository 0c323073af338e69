"""Who sees what, as a matrix: every page, fragment and API answer that shows or embeds an
object, asked by every role, answers 200 (showing no word of an object the role may not read),
403 (the object is readable but not theirs to change) or 404 (not readable: as if it did not
exist); anonymous visitors are sent to log in (web) or get 401 (API).

Adding a URL is one line in CASES: the address (with {names} from factories.make_access_world),
who may read what it shows, and, for a change, who may make it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import ApiClient

ROLES = ("admin", "owner", "other_owner", "approver", "viewer")
READ_ALL = frozenset({"admin", "owner", "other_owner", "approver"})
EVERYONE = frozenset(ROLES)
OWNER = frozenset({"owner"})
OWNER_ADMIN = frozenset({"owner", "admin"})
# Who may read the object each secret word belongs to (factories.make_access_world).
SECRET_READERS = {
    "draft": READ_ALL,
    "beside_draft": READ_ALL,
    "exception": READ_ALL,
    "notification": OWNER,
    "task": OWNER_ADMIN,
    "token": OWNER,
}


@dataclass(frozen=True)
class Case:
    url: str
    readers: frozenset[str] = EVERYONE
    method: str = "GET"
    # For a change: who may make it (skipped, to keep the world as it is); the other readers
    # get 403. For a page only some roles use at all (a list), the others' answer (403).
    changers: frozenset[str] | None = None
    others: int = 404
    htmx: bool = False
    json: dict | None = None

    @property
    def is_api(self) -> bool:
        return self.url.startswith("/api/")


def page(url: str, readers=EVERYONE, **extra) -> list[Case]:
    """The page, and the same URL asked by htmx (its fragment)."""
    return [Case(url, readers, **extra), Case(url, readers, htmx=True, **extra)]


CASES: list[Case] = [
    # Policies: a draft, a published policy, and one with a draft beside its live version.
    *page("/policies/{draft}", READ_ALL),
    Case("/policies/{draft}/revisions", READ_ALL),
    Case("/policies/{draft}/revisions/1", READ_ALL),
    Case("/policies/{draft}/compare", READ_ALL),
    Case("/policies/{draft}/edit", READ_ALL, changers=OWNER_ADMIN),
    Case("/policies/{draft}/acknowledgement", READ_ALL, changers=OWNER_ADMIN),
    Case("/policies/{draft}/acknowledgements", READ_ALL),
    Case("/policies/{draft}/transition", READ_ALL, "POST", changers=OWNER_ADMIN),
    Case("/api/v1/policies/{draft}", READ_ALL),
    Case(
        "/api/v1/policies/{draft}/transitions",
        READ_ALL,
        "POST",
        changers=OWNER_ADMIN,
        json={"status": "in_review"},
    ),
    *page("/policies/{published}"),
    Case("/policies/{published}/versions"),
    Case("/policies/{published}/versions/1.0"),
    Case("/policies/{published}/versions/1.0/pdf"),
    Case("/policies/{published}/exceptions/new", EVERYONE, changers=OWNER_ADMIN),
    Case("/api/v1/policies/{published}"),
    *page("/policies/{beside}"),
    Case("/policies/{beside}/revisions"),
    Case("/policies/{beside}/revisions/1"),
    Case("/policies/{beside}/revisions/2", READ_ALL),
    Case("/policies/{beside}/compare"),
    Case("/policies/{beside}/versions"),
    Case("/policies/{beside}/versions/1.0"),
    Case("/api/v1/policies/{beside}"),
    # Lists, searches and exports that embed policies.
    *page("/policies"),
    *page("/policies?q=Walrusmoustache"),
    *page("/policies?q=Zebracrossing"),
    Case("/policies/export.csv"),
    Case("/policies/export.csv?q=Walrusmoustache"),
    Case("/api/v1/policies"),
    Case("/api/v1/policies?q=Walrusmoustache"),
    # Executions follow their subject: a draft's, a published policy's, the one beside a live
    # version, an exception's approval.
    *page("/executions"),
    *page("/executions?policy={published}"),
    *page("/executions/{draft_execution}", READ_ALL),
    *page("/executions/{published_execution}"),
    *page("/executions/{beside_execution}", READ_ALL),
    *page("/executions/{exception_execution}", READ_ALL),
    Case("/api/v1/executions"),
    Case("/api/v1/executions?policy_id={published}"),
    Case("/api/v1/executions/{draft_execution}", READ_ALL),
    Case("/api/v1/executions/{published_execution}"),
    Case("/api/v1/executions/{beside_execution}", READ_ALL),
    Case("/api/v1/executions/{exception_execution}", READ_ALL),
    # The exception, its approval request, and the pages that embed them.
    Case("/policy-exceptions/{exception}", READ_ALL),
    Case("/policy-exceptions/{exception}/revoke", READ_ALL, "POST", changers=OWNER_ADMIN),
    *page("/policy-exceptions", READ_ALL, others=403),
    Case("/dashboard", READ_ALL, others=403),
    Case("/approvals/{request}/decide", READ_ALL, "POST", changers=frozenset({"approver"})),
    Case("/approvals/{request}/remind", READ_ALL, "POST", changers=OWNER_ADMIN),
    Case("/approvals/{request}/delegate", READ_ALL, changers=frozenset({"approver", "admin"})),
    Case(
        "/api/v1/approvals/{request}/decision",
        READ_ALL,
        "POST",
        changers=frozenset({"approver"}),
        json={"decision": "approve"},
    ),
    *page("/approvals"),
    *page("/approvals?tab=decided"),
    Case("/api/v1/approvals"),
    # One person's own things: notification, task, evidence pack, API token.
    *page("/notifications"),
    Case("/notifications/{notification}/read", OWNER, "POST", changers=OWNER),
    *page("/tasks"),
    *page("/tasks?tab=done"),
    Case("/tasks/{task}/done", OWNER_ADMIN, "POST", changers=OWNER_ADMIN),
    *page("/evidence/{pack}", OWNER_ADMIN),
    Case("/evidence/{pack}/rebuild", OWNER_ADMIN, "POST", changers=OWNER_ADMIN),
    Case("/account/tokens"),
    Case("/account/tokens/{token}/revoke", OWNER),
    Case("/account/tokens/{token}/revoke", OWNER, "POST", changers=OWNER),
    Case("/acknowledgements"),
]


def expected_status(case: Case, role: str) -> int:
    if role not in case.readers:
        return case.others
    if case.changers is not None and role not in case.changers:
        return 403
    return 200


def _ask(case: Case, url: str, web, api: ApiClient):
    headers = {"HX-Request": "true"} if case.htmx else {}
    if case.is_api:
        return api.request(case.method, url, json=case.json)
    if case.method == "GET":
        return web.get(url, headers=headers)
    form = {"reason": "Checked", "decision": "approved", "target": "in_review"}
    return web.submit(url, form, token_from="/account")


def _leaks(body: str, role: str, secrets: dict[str, str]) -> list[str]:
    return [
        word
        for word, owner in secrets.items()
        if word in body and role not in SECRET_READERS[owner]
    ]


@pytest.fixture
def world(users, db):
    return factories.make_access_world(users)


def test_every_page_and_answer_shows_each_role_only_what_it_may_read(
    app, world, as_role, api_as, db
):
    problems = []
    for role in ROLES:
        web, api = as_role(role), api_as(role)
        for case in CASES:
            if case.method != "GET" and case.changers is not None and role in case.changers:
                continue  # changes are checked by their own tests; keep the world unchanged
            url = case.url.format(**world)
            response = _ask(case, url, web, api)
            wanted = expected_status(case, role)
            if response.status_code != wanted:
                problems.append(
                    f"{role} {case.method} {url} (htmx={case.htmx}): "
                    f"{response.status_code}, expected {wanted}"
                )
            body = response.get_data().decode("utf-8", "replace")  # a PDF is bytes
            leaked = _leaks(body, role, world["secrets"])
            if leaked:
                problems.append(f"{role} {case.method} {url} (htmx={case.htmx}) shows {leaked}")
    assert problems == [], "\n".join(problems)


def test_anonymous_visitors_are_sent_to_log_in_or_get_401(app, world, client, api_as):
    anonymous_api = api_as(None)
    for case in CASES:
        url = case.url.format(**world)
        if case.is_api:
            assert anonymous_api.request(case.method, url, json=case.json).status_code == 401, url
            continue
        if case.method == "GET":
            response = client.get(url)
        else:
            response = client.submit(url, {"reason": "x"}, token_from="/login")
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


def test_refused_changes_change_nothing(app, world, as_role, api_as, db):
    from governance.approvals.models import ApprovalRequest
    from governance.auth.models import ApiToken
    from governance.evidence.models import EvidencePack
    from governance.notifications.models import Notification
    from governance.policy_exceptions.models import PolicyException
    from governance.tasks.models import Task

    def state():
        db.session.expire_all()
        return (
            db.session.get(Notification, world["notification"]).read_at,
            db.session.get(Task, world["task"]).done_at,
            db.session.get(PolicyException, world["exception"]).status,
            db.session.get(ApprovalRequest, world["request"]).comment,
            db.session.get(EvidencePack, world["pack"]).status,
            db.session.get(ApiToken, world["token"]).revoked_at,
            db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalRequest)),
        )

    before = state()
    for role in ("other_owner", "viewer", "approver"):
        web, api = as_role(role), api_as(role)
        for case in CASES:
            if case.method == "POST" and role not in (case.changers or ()):
                _ask(case, case.url.format(**world), web, api)
    assert state() == before


def test_a_viewers_own_pages_do_not_link_to_what_they_may_not_open(world, as_role):
    viewer = as_role("viewer")
    notifications = viewer.get("/notifications").get_data(as_text=True)
    assert "Something happened" in notifications
    assert f'href="/executions/{world["exception_execution"]}"' not in notifications

    tasks = viewer.get("/tasks").get_data(as_text=True)
    assert "Read this" in tasks
    assert f'href="/executions/{world["draft_execution"]}"' not in tasks
    assert f'href="/policies/{world["draft"]}"' not in tasks

    published = viewer.get(f"/policies/{world['published']}").get_data(as_text=True)
    assert f'href="/executions/{world["published_execution"]}"' in published
    assert f'href="/executions/{world["exception_execution"]}"' not in published


def test_what_a_role_may_not_read_is_answered_exactly_as_what_does_not_exist(
    world, as_role, api_as
):
    """No difference in status or text between "not yours" and "no such thing"."""
    names = re.compile(r"\{(\w+)\}")
    csrf = re.compile(r'(csrf_token" value="|X-CSRFToken": ")[^"]+')

    def answer(case: Case, url: str, web, api) -> tuple[int, str]:
        response = _ask(case, url, web, api)
        return response.status_code, csrf.sub(r"\1", response.get_data(as_text=True))

    problems = []
    for role in ROLES:
        web, api = as_role(role), api_as(role)
        web.get("/account")  # the welcome message is shown here, not on a page compared below
        for case in CASES:
            one_object = len(names.findall(case.url)) == 1 and not re.search(r"/\d", case.url)
            if role in case.readers or case.others != 404 or not one_object:
                continue
            hidden = answer(case, case.url.format(**world), web, api)
            missing = answer(case, names.sub("999999", case.url), web, api)
            if hidden != missing:
                problems.append(f"{role} {case.method} {case.url} (htmx={case.htmx})")
    assert problems == [], "\n".join(problems)


def test_execution_lists_filter_in_the_query_so_counts_and_pages_hold(world, as_role, api_as):
    # The world has four executions started by policies (one per policy, one exception's):
    # a viewer may read one. The count and the first page are of what they may read.
    viewer_page = as_role("viewer").get("/executions").get_data(as_text=True)
    assert "1 execution, newest first" in viewer_page
    assert "4 executions, newest first" in as_role("owner").get("/executions").get_data(
        as_text=True
    )

    first = api_as("viewer").get("executions?limit=1").json
    assert [item["id"] for item in first["items"]] == [world["published_execution"]]
    assert first["next_cursor"] is None or (
        api_as("viewer").get(f"executions?limit=1&cursor={first['next_cursor']}").json["items"]
        == []
    )


def test_a_viewer_asked_to_approve_reads_that_request_and_its_execution_only(users, db, login):
    """Whoever an approval request is put to reads it (they must, to decide), even without a
    role that reads exceptions; a viewer it was not put to still finds nothing."""
    from governance.policy_exceptions import service as exceptions
    from governance.timeutil import utcnow

    asked = factories.make_user("viewer", email="asked@example.test")
    factories.make_workflow(
        users["admin"],
        trigger={"type": "exception.requested"},
        stages=[[factories.step("approve", "approval", {"users": [asked.id], "rule": "any"})]],
    )
    policy = factories.make_policy(users["owner"], "published", admin=users["admin"])
    exception_id = exceptions.request_exception(
        policy.id,
        exceptions.ExceptionInput(
            scope=factories.EXCEPTION_SCOPE,
            justification="Patch due.",
            expires_on=utcnow().date() + timedelta(days=10),
        ),
        actor=users["owner"],
        max_days=365,
    )
    factories.run_queued_steps()
    (request,) = factories.approval_requests(db)
    execution_url = f"/executions/{request.execution_id}"

    mine = login(asked)
    assert factories.EXCEPTION_SCOPE in mine.get("/approvals").get_data(as_text=True)
    assert factories.EXCEPTION_SCOPE in mine.get(execution_url).get_data(as_text=True)
    # The exception itself is for the roles that read exceptions.
    assert mine.get(f"/policy-exceptions/{exception_id}").status_code == 404
    stranger = login(users["viewer"])
    assert stranger.get(execution_url).status_code == 404
    assert (
        stranger.submit(
            f"/approvals/{request.id}/decide", {"decision": "approved"}, token_from="/account"
        ).status_code
        == 404
    )

    decided = mine.submit(
        f"/approvals/{request.id}/decide", {"decision": "approved"}, token_from="/approvals"
    )
    assert decided.status_code == 303
    assert [r.status for r in factories.approval_requests(db)] == ["approved"]
    # Having decided, they still read what they decided on.
    assert mine.get(execution_url).status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "policy_id",
        "execution_id",
        "exception_id",
        "request_id",
        "task_id",
        "notification_id",
        "pack_id",
    ],
)
def test_every_object_a_link_names_is_checked_by_its_features_read_rule(name, users, db):
    """Each feature registers its read rule in its register(app): a link naming an object that
    does not exist opens for nobody, admin included; a path argument naming no object is free."""
    from governance import visibility

    assert visibility.can_open(users["admin"], {name: 99999}) is False
    assert visibility.can_open(users["admin"], {"page": 99999}) is True


def test_a_notification_link_to_nothing_is_shown_as_plain_text(users, db, as_role):
    from governance.notifications.service import notify

    notify([users["owner"].id], subject="Gone", link="/executions/99999999999999")
    notify([users["owner"].id], subject="Kept", link="/approvals")
    db.session.commit()
    response = as_role("owner").get("/notifications")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/executions/99999999999999"' not in html
    assert 'href="/approvals">Kept' in html
