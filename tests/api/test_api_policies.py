"""/api/v1/policies through HTTP with bearer tokens: every endpoint, every way to be refused,
and the database unchanged after each refusal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.auth import tokens
from governance.auth.models import ApiToken
from governance.policies.models import Policy, PolicyRevision
from governance.timeutil import utcnow
from tests import factories


def _state(db) -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.expire_all()
    policies = db.session.execute(
        sa.select(
            Policy.id,
            Policy.title,
            Policy.body,
            Policy.category,
            Policy.status,
            Policy.owner_id,
            Policy.version,
            Policy.current_revision,
        ).order_by(Policy.id)
    ).all()
    revisions = db.session.scalar(sa.select(sa.func.count()).select_from(PolicyRevision))
    # Tokens made for a test write their own audit events; the policies' are the ones that count.
    events = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.object_type == "policy")
    )
    return policies, revisions, events


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json["error"]


def _fields(response) -> set[str]:
    return {detail["field"] for detail in response.json["error"]["details"]}


NEW_POLICY = {"title": "Access Control", "category": "Security", "body": "# Access\n\nLeast."}


# ------------------------------------------------------------------ authentication


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic b3duZXI6cGFzcw==", "Token abc"],
)
def test_requests_without_a_bearer_token_get_401_json_with_a_challenge(
    api_as, users, db, authorization
):
    factories.make_policy(users["owner"])
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api_as(None).get("policies", headers=headers)
    error = _error(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "items" not in response.json


def test_unknown_revoked_and_expired_tokens_get_401_and_change_nothing(
    api_as, api_token, users, db
):
    owner = users["owner"]
    revoked = api_token(owner)
    tokens.revoke_token(owner, db.session.scalar(sa.select(sa.func.max(ApiToken.id))))
    expired = api_token(owner)
    row = db.session.scalar(sa.select(ApiToken).order_by(ApiToken.id.desc()))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    before = _state(db)
    client = api_as(None)
    for token in ("stw_not-a-real-token", revoked, expired):
        response = client.post(
            "policies", json=NEW_POLICY, headers={"Authorization": f"Bearer {token}"}
        )
        error = _error(response, 401)
        assert error["code"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _state(db) == before


def test_a_logged_in_session_cookie_is_not_accepted_by_the_api(as_role, users, db):
    browser = as_role("admin")
    assert browser.get("/policies").status_code == 200
    response = browser.get("/api/v1/policies")
    assert _error(response, 401)["code"] == "unauthorized"
    before = _state(db)
    # No CSRF token and no bearer token: refused as unauthenticated, not as a CSRF failure page.
    assert _error(browser.post("/api/v1/policies", json=NEW_POLICY), 401)
    assert _state(db) == before


# ------------------------------------------------------------------ list


def test_list_is_newest_first_and_viewers_see_published_policies_only(api_as, users, db):
    draft = factories.make_policy(users["owner"])
    published = factories.make_policy(users["owner"], "published", admin=users["admin"])
    newest = factories.make_policy(users["other_owner"])
    response = api_as("owner").get("policies")
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [newest.id, published.id, draft.id]
    assert response.json["next_cursor"] is None
    item = response.json["items"][1]
    assert item["status"] == "published"
    assert item["owner"] == {
        "id": users["owner"].id,
        "name": users["owner"].name,
        "email": users["owner"].email,
    }
    assert (item["current_revision"], item["published_revision"]) == (1, 1)
    assert "body" not in item
    assert response.headers["Cache-Control"] == "no-store"

    viewer = api_as("viewer").get("policies")
    assert [item["id"] for item in viewer.json["items"]] == [published.id]
    assert api_as("viewer").get("policies?status=draft").json["items"] == []


def test_list_filters_by_status_category_owner_words_and_review_due(api_as, users, db):
    owner, other, admin = users["owner"], users["other_owner"], users["admin"]
    vendors = factories.make_policy(owner, title="Vendor risk", category="Procurement")
    access = factories.make_policy(other, body="Least privilege for vendors", category="Security")
    due = factories.make_policy(
        owner, "published", admin=admin, review_interval_days=30, next_review_on=date(2020, 1, 1)
    )
    client = api_as("approver")

    def ids(query: str) -> list[int]:
        response = client.get(f"policies?{query}")
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids("status=published") == [due.id]
    assert ids("status=draft") == [access.id, vendors.id]
    assert ids("category=Procurement") == [vendors.id]
    assert ids(f"owner_id={other.id}") == [access.id]
    assert ids("q=vendor") == [access.id, vendors.id]  # title or body, any case
    assert ids("q=100%25") == []  # % is a character to find, not a wildcard
    assert ids("review_due=true") == [due.id]
    assert ids(f"status=draft&owner_id={owner.id}") == [vendors.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("owner_id=0", "owner_id"),
        ("owner_id=2147483648", "owner_id"),
        ("owner_id=99999999999999999999999", "owner_id"),
        ("review_due=perhaps", "review_due"),
        ("cursor=bm90LW91cnM", "cursor"),
        ("cursor=%E2%9C%93", "cursor"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(api_as, users, db, query, field):
    factories.make_policy(users["owner"])
    response = api_as("owner").get(f"policies?{query}")
    _error(response, 422)
    assert _fields(response) == {field}


def test_cursor_pagination_walks_every_policy_exactly_once(api_as, users, db):
    created = [factories.make_policy(users["owner"]).id for _ in range(11)]
    client = api_as("owner")
    seen: list[int] = []
    pages = 0
    url = "policies?limit=4"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json
        assert len(page["items"]) <= 4
        seen += [item["id"] for item in page["items"]]
        pages += 1
        url = f"policies?limit=4&cursor={page['next_cursor']}" if page["next_cursor"] else None
    assert pages == 3
    assert seen == sorted(created, reverse=True)


def test_every_cursor_the_document_allows_is_a_page(api_as, users, db):
    """The cursor's pattern is digits; each such cursor continues after that point, and one
    past every id starts from the newest, so no cursor the document allows is refused."""
    created = [factories.make_policy(users["owner"]).id for _ in range(3)]
    client = api_as("owner")
    parameters = client.get("openapi.json").json["paths"]["/api/v1/policies"]["get"]
    (cursor,) = [p for p in parameters["parameters"] if p["name"] == "cursor"]
    assert cursor["schema"]["anyOf"][0]["pattern"] == "^[0-9]{1,10}$"

    def ids(query: str) -> list[int]:
        response = client.get(f"policies?{query}")
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids(f"cursor={created[1]}") == [created[0]]
    assert ids("cursor=0") == []
    assert ids("cursor=0000000001") == []
    assert ids("cursor=9999999999") == created[::-1]


def test_a_policy_created_while_paging_does_not_shift_later_pages(api_as, users, db):
    first = [factories.make_policy(users["owner"]).id for _ in range(4)]
    client = api_as("owner")
    page = client.get("policies?limit=2").json
    factories.make_policy(users["owner"])
    rest = client.get(f"policies?limit=2&cursor={page['next_cursor']}").json
    assert [item["id"] for item in page["items"] + rest["items"]] == first[::-1]
    assert rest["next_cursor"] is None


# ------------------------------------------------------------------ get


def test_get_returns_the_policy_with_its_current_and_published_version(api_as, users, db):
    policy = factories.make_policy(users["owner"], tags="Access, IAM")
    factories.edit_policy(policy.id, users["owner"], title="Access v2", body="Second text")
    response = api_as("approver").get(f"policies/{policy.id}")
    assert response.status_code == 200
    data = response.json
    assert (data["title"], data["body"], data["status"]) == ("Access v2", "Second text", "draft")
    assert data["tags"] == ["access", "iam"]
    assert data["current_revision"] == 2
    assert data["current_version"]["number"] == 2
    assert data["current_version"]["title"] == "Access v2"
    assert data["published_version"] is None
    assert data["allowed_transitions"] == []  # an approver cannot submit someone's draft

    mine = api_as("owner").get(f"policies/{policy.id}").json
    assert mine["allowed_transitions"] == ["in_review"]

    published = factories.make_policy(users["owner"], "published", admin=users["admin"])
    data = api_as("viewer").get(f"policies/{published.id}").json
    assert data["status"] == "published"
    assert data["published_revision"] == 1
    assert data["published_version"] == data["current_version"]
    assert data["published_version"]["summary"] == "First version"


def test_an_unknown_policy_is_404(api_as, users, db):
    for path in ("policies/4242", "policies/2147483648", "policies/99999999999999999999999"):
        error = _error(api_as("admin").get(path), 404)
        assert error["code"] == "not_found"


def test_a_viewer_gets_404_for_another_owners_draft_and_cannot_touch_it(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    viewer = api_as("viewer")
    before = _state(db)
    assert _error(viewer.get(f"policies/{policy.id}"), 404)["code"] == "not_found"
    # Editing needs a role the viewer lacks: refused before the policy is even looked up.
    assert _error(viewer.patch(f"policies/{policy.id}", json={"version": 1, "title": "X"}), 403)
    transition = viewer.post(f"policies/{policy.id}/transitions", json={"status": "in_review"})
    assert _error(transition, 404)
    assert _state(db) == before


# ------------------------------------------------------------------ create


def test_an_owner_creates_a_draft_and_is_told_where_it_is(api_as, users, db):
    client = api_as("owner")
    response = client.post(
        "policies",
        json=NEW_POLICY | {"tags": ["IAM", "iam", " Access "], "review_interval_days": 365},
    )
    assert response.status_code == 201, response.json
    data = response.json
    assert response.headers["Location"] == f"/api/v1/policies/{data['id']}"
    assert client.get(response.headers["Location"]).json == data
    assert (data["status"], data["version"], data["current_revision"]) == ("draft", 1, 1)
    assert data["owner"]["id"] == users["owner"].id
    assert data["tags"] == ["access", "iam"]
    assert data["next_review_on"] == (utcnow().date() + timedelta(days=365)).isoformat()
    assert data["current_version"]["summary"] == "First version"
    policy = db.session.get(Policy, data["id"])
    assert policy.title == "Access Control"
    events = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "policy")
    ).all()
    assert events == ["policy.created"]


def test_an_admin_creates_a_policy_for_another_owner(api_as, users, db):
    response = api_as("admin").post(
        "policies", json=NEW_POLICY | {"owner_id": users["owner"].id, "summary": "Imported"}
    )
    assert response.status_code == 201, response.json
    assert response.json["owner"]["id"] == users["owner"].id
    assert response.json["current_version"]["summary"] == "Imported"


def test_only_admins_choose_the_owner_and_only_active_owners_can_be_chosen(api_as, users, db):
    owner = api_as("owner")
    admin = api_as("admin")
    before = _state(db)
    response = owner.post("policies", json=NEW_POLICY | {"owner_id": users["other_owner"].id})
    _error(response, 422)
    assert _fields(response) == {"owner_id"}
    for owner_id in (users["viewer"].id, 4242):
        response = admin.post("policies", json=NEW_POLICY | {"owner_id": owner_id})
        _error(response, 422)
        assert _fields(response) == {"owner_id"}
    assert _state(db) == before


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_viewers_and_approvers_cannot_create_policies(api_as, users, db, role):
    client = api_as(role)
    before = _state(db)
    error = _error(client.post("policies", json=NEW_POLICY), 403)
    assert error["code"] == "forbidden"
    assert _state(db) == before


@pytest.mark.parametrize(
    "raw",
    ['{"title": "A", "category": "B"', "{'title': 'A'}", "title=A&category=B", "\x00", "[1,"],
)
def test_malformed_json_is_400_and_writes_nothing(api_as, users, db, raw):
    policy = factories.make_policy(users["owner"])
    client = api_as("owner")
    before = _state(db)
    for method, path in (
        ("POST", "policies"),
        ("PATCH", f"policies/{policy.id}"),
        ("POST", f"policies/{policy.id}/transitions"),
    ):
        response = client.request(method, path, data=raw, content_type="application/json")
        error = _error(response, 400)
        assert error["code"] == "malformed_json"
        assert "Traceback" not in response.get_data(as_text=True)
    assert _state(db) == before


def test_a_body_that_is_missing_or_not_an_object_is_422(api_as, users, db):
    client = api_as("owner")
    before = _state(db)
    assert _error(client.post("policies"), 422)["message"] == "Send a JSON object."
    for raw in ("[]", '"title"', "42", "null"):
        response = client.post("policies", data=raw, content_type="application/json")
        _error(response, 422)
    assert _state(db) == before


def test_every_invalid_field_is_listed_at_once_and_nothing_is_written(api_as, users, db):
    client = api_as("owner")
    before = _state(db)
    response = client.post(
        "policies",
        json={
            "title": "   ",
            "category": "x" * 81,
            "body": 12,
            "tags": ["ok", "t" * 41],
            "review_interval_days": 0,
            "next_review_on": "next week",
            "summary": "s" * 201,
        },
    )
    error = _error(response, 422)
    assert error["code"] == "validation_failed"
    assert _fields(response) == {
        "title",
        "category",
        "body",
        "tags.1",
        "review_interval_days",
        "next_review_on",
        "summary",
    }
    response = client.post("policies", json={"body": "only a body"})
    assert _fields(response) == {"title", "category"}
    assert _state(db) == before


@pytest.mark.parametrize("day", [0, 1735689600, "2025-05-01T00:00:00Z", "20250501"])
def test_a_review_date_is_a_yyyy_mm_dd_text_and_nothing_else(api_as, users, db, day):
    """As the document's `format: date` says: not a number of seconds, not a moment."""
    before = _state(db)
    response = api_as("owner").post(
        "policies", json={"title": "Keys", "category": "Security", "next_review_on": day}
    )
    _error(response, 422)
    assert _fields(response) == {"next_review_on"}
    assert _state(db) == before


def test_nul_characters_are_422_naming_the_field_not_a_server_error(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    client = api_as("owner")
    before = _state(db)
    response = client.post(
        "policies", json={"title": "A\x00", "category": "B", "tags": ["\x00"], "body": "\x00"}
    )
    _error(response, 422)
    assert _fields(response) == {"title", "tags.0", "body"}
    response = client.patch(f"policies/{policy.id}", json={"version": 1, "summary": "\x00"})
    assert _fields(response) == {"summary"}
    response = client.get("policies?q=a%00b")
    _error(response, 422)
    assert _fields(response) == {"q"}
    assert _state(db) == before


def test_a_body_longer_than_the_configured_limit_is_422_on_body(api_as, users, db, app):
    client = api_as("owner")
    before = _state(db)
    too_long = "x" * (app.config["POLICY_BODY_MAX_CHARS"] + 1)
    response = client.post("policies", json=NEW_POLICY | {"body": too_long})
    _error(response, 422)
    assert _fields(response) == {"body"}
    assert _state(db) == before


def test_a_request_body_over_the_size_cap_is_413(api_as, users, db):
    client = api_as("owner")
    before = _state(db)
    response = client.post("policies", json=NEW_POLICY | {"body": "x" * 1_100_000})
    assert _error(response, 413)["code"] == "too_large"
    assert _state(db) == before


def test_unknown_fields_are_422_and_named(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    client = api_as("owner")
    before = _state(db)
    response = client.post("policies", json=NEW_POLICY | {"status": "published", "colour": "red"})
    _error(response, 422)
    assert _fields(response) == {"status", "colour"}
    assert "Unknown field “colour”." in [d["message"] for d in response.json["error"]["details"]]
    response = client.patch(f"policies/{policy.id}", json={"version": 1, "owner": 3})
    assert _fields(response) == {"owner"}
    response = client.post(
        f"policies/{policy.id}/transitions", json={"status": "in_review", "force": True}
    )
    assert _fields(response) == {"force"}
    assert _state(db) == before


# ------------------------------------------------------------------ update


def test_patch_changes_only_the_fields_sent_as_a_new_revision(api_as, users, db):
    policy = factories.make_policy(
        users["owner"], tags="a, b", review_interval_days=90, next_review_on=date(2030, 1, 1)
    )
    client = api_as("owner")
    response = client.patch(
        f"policies/{policy.id}",
        json={"version": policy.version, "title": "Renamed", "summary": "Clearer title"},
    )
    assert response.status_code == 200, response.json
    data = response.json
    assert data["title"] == "Renamed"
    assert data["body"] == policy.body
    assert (data["category"], data["tags"]) == ("Security", ["a", "b"])
    assert (data["review_interval_days"], data["next_review_on"]) == (90, "2030-01-01")
    assert data["current_revision"] == 2
    assert data["version"] == policy.version + 1
    assert data["current_version"]["number"] == 2
    assert data["current_version"]["title"] == "Renamed"
    assert data["current_version"]["summary"] == "Clearer title"
    assert data["published_version"] is None
    revisions = db.session.scalars(
        sa.select(PolicyRevision.title)
        .where(PolicyRevision.policy_id == policy.id)
        .order_by(PolicyRevision.number)
    ).all()
    assert revisions == [policy.title, "Renamed"]

    cleared = client.patch(
        f"policies/{policy.id}",
        json={"version": data["version"], "review_interval_days": None, "next_review_on": None},
    )
    assert cleared.status_code == 200, cleared.json
    assert (cleared.json["review_interval_days"], cleared.json["next_review_on"]) == (None, None)
    assert cleared.json["title"] == "Renamed"
    assert cleared.json["current_revision"] == 3


def test_an_admin_may_hand_a_draft_to_another_owner(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    response = api_as("admin").patch(
        f"policies/{policy.id}", json={"version": policy.version, "owner_id": users["admin"].id}
    )
    assert response.status_code == 200, response.json
    assert response.json["owner"]["id"] == users["admin"].id


def test_a_stale_version_is_409_and_the_newer_edit_stays(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    read = policy.version
    factories.edit_policy(policy.id, users["owner"], title="Someone else's edit")
    before = _state(db)
    response = api_as("owner").patch(f"policies/{policy.id}", json={"version": read, "body": "X"})
    error = _error(response, 409)
    assert error["code"] == "conflict"
    assert "changed by someone else" in error["message"]
    assert _state(db) == before
    assert db.session.get(Policy, policy.id).title == "Someone else's edit"


@pytest.mark.parametrize("field", ["title", "body", "category", "tags", "owner_id"])
def test_null_is_refused_for_fields_that_cannot_be_empty(api_as, users, db, field):
    policy = factories.make_policy(users["owner"])
    before = _state(db)
    response = api_as("admin").patch(f"policies/{policy.id}", json={"version": 1, field: None})
    _error(response, 422)
    assert _fields(response) == {field}
    assert _state(db) == before


def test_invalid_update_fields_are_all_listed_and_nothing_is_written(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    before = _state(db)
    response = api_as("owner").patch(
        f"policies/{policy.id}",
        json={"version": 0, "title": "", "category": " ", "tags": "a,b", "owner_id": -1},
    )
    _error(response, 422)
    assert _fields(response) == {"version", "title", "category", "tags", "owner_id"}
    response = api_as("owner").patch(f"policies/{policy.id}", json={"title": "No version"})
    assert _fields(response) == {"version"}
    assert _state(db) == before


def test_an_edit_that_changes_nothing_is_422_and_adds_no_revision(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    before = _state(db)
    response = api_as("owner").patch(
        f"policies/{policy.id}", json={"version": 1, "title": policy.title}
    )
    assert "Nothing changed" in _error(response, 422)["message"]
    assert _state(db) == before


def test_only_the_owner_or_an_admin_edits_and_only_drafts(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    published = factories.make_policy(users["owner"], "published", admin=users["admin"])
    before = _state(db)
    for role in ("other_owner", "approver"):
        response = api_as(role).patch(f"policies/{policy.id}", json={"version": 1, "title": "X"})
        assert _error(response, 403)["code"] == "forbidden"
    for role in ("owner", "admin"):
        response = api_as(role).patch(
            f"policies/{published.id}", json={"version": published.version, "title": "X"}
        )
        assert "only drafts can be edited" in _error(response, 403)["message"]
    response = api_as("viewer").patch(
        f"policies/{published.id}", json={"version": published.version, "title": "X"}
    )
    assert _error(response, 403)["message"] == "This needs the role owner or admin."
    response = api_as("owner").patch("policies/4242", json={"version": 1, "title": "X"})
    _error(response, 404)
    assert _state(db) == before


# ------------------------------------------------------------------ transitions


def test_a_policy_goes_through_its_lifecycle_by_api(api_as, users, db):
    owner, admin = api_as("owner"), api_as("admin")
    policy_id = owner.post("policies", json=NEW_POLICY).json["id"]
    path = f"policies/{policy_id}/transitions"

    submitted = owner.post(path, json={"status": "in_review", "version": 1})
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "in_review"
    assert submitted.json["allowed_transitions"] == []

    approved = admin.post(path, json={"status": "approved"})
    assert approved.json["status"] == "approved", approved.json
    published = owner.post(path, json={"status": "published"})
    assert published.json["status"] == "published", published.json
    assert published.json["published_version"]["number"] == 1
    retired = owner.post(path, json={"status": "retired", "reason": "Superseded by v2"})
    assert retired.json["status"] == "retired", retired.json
    assert retired.json["allowed_transitions"] == []
    changes = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "policy")
    ).all()
    assert changes.count("policy.status_changed") == 4


def test_a_review_workflow_still_waiting_holds_the_manual_approval_with_409(api_as, users, db):
    factories.make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[
            [factories.step("review", "approval", {"users": [users["approver"].id]})],
            [factories.step("approve", "set_status", {"status": "approved"})],
        ],
    )
    policy = factories.submit_for_review(users)
    admin = api_as("admin")
    shown = admin.get(f"policies/{policy.id}")
    assert shown.json["allowed_transitions"] == ["draft"]  # sending back stays open
    before = _state(db)
    response = admin.post(f"policies/{policy.id}/transitions", json={"status": "approved"})
    error = _error(response, 409)
    assert error["code"] == "conflict"
    assert "still deciding this policy's review" in error["message"]
    assert "/executions/" in error["message"]
    assert _state(db) == before


def test_an_admin_who_wrote_part_of_the_change_gets_403_on_approve(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    factories.edit_policy(policy.id, users["admin"], body="Rewritten by the admin.\n")
    owner, admin = api_as("owner"), api_as("admin")
    submitted = owner.post(f"policies/{policy.id}/transitions", json={"status": "in_review"})
    assert submitted.status_code == 200, submitted.json
    assert admin.get(f"policies/{policy.id}").json["allowed_transitions"] == ["draft"]
    before = _state(db)
    response = admin.post(f"policies/{policy.id}/transitions", json={"status": "approved"})
    assert "wrote part of this change" in _error(response, 403)["message"]
    assert _state(db) == before


@pytest.mark.parametrize(
    ("status", "target", "allowed"),
    [
        ("draft", "published", ["in_review"]),
        ("draft", "draft", ["in_review"]),
        ("in_review", "retired", ["draft", "approved"]),
        ("published", "approved", ["retired", "draft"]),
        ("retired", "published", []),
    ],
)
def test_an_impossible_move_is_422_with_the_allowed_targets(
    api_as, users, db, status, target, allowed
):
    policy = factories.make_policy(users["owner"], status, admin=users["admin"])
    before = _state(db)
    response = api_as("admin").post(f"policies/{policy.id}/transitions", json={"status": target})
    error = _error(response, 422)
    assert error["details"] == [
        {"field": "status", "message": error["details"][0]["message"], "allowed": allowed}
    ]
    assert _state(db) == before


def test_an_unknown_status_is_422_naming_the_field(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    before = _state(db)
    response = api_as("owner").post(
        f"policies/{policy.id}/transitions", json={"status": "Published"}
    )
    _error(response, 422)
    assert _fields(response) == {"status"}
    assert _state(db) == before


def test_the_submitter_cannot_approve_their_own_change(api_as, users, db):
    policy = factories.make_policy(users["admin"])
    admin = api_as("admin")
    path = f"policies/{policy.id}/transitions"
    assert admin.post(path, json={"status": "in_review"}).status_code == 200
    before = _state(db)
    error = _error(admin.post(path, json={"status": "approved"}), 403)
    assert "four-eyes" in error["message"]
    assert _state(db) == before
    # Another admin may.
    other_admin = factories.make_user("admin")
    other = api_as(None)
    other.token = tokens.create_token(
        other_admin, name="second admin", expires_on=None, today=date.today()
    ).token
    assert other.post(path, json={"status": "approved"}).json["status"] == "approved"


def test_moves_outside_the_callers_role_are_403(api_as, users, db):
    in_review = factories.make_policy(users["owner"], "in_review")
    published = factories.make_policy(users["owner"], "published", admin=users["admin"])
    draft = factories.make_policy(users["owner"])
    before = _state(db)
    refused = [
        ("approver", in_review, "approved"),  # approvers decide in the inbox, not here
        ("owner", in_review, "approved"),
        ("viewer", published, "retired"),
        ("other_owner", draft, "in_review"),
    ]
    for role, policy, target in refused:
        response = api_as(role).post(
            f"policies/{policy.id}/transitions", json={"status": target, "reason": "Because"}
        )
        assert _error(response, 403)["code"] == "forbidden", (role, target)
    assert _state(db) == before


def test_a_move_that_needs_a_reason_without_one_is_422_on_reason(api_as, users, db):
    policy = factories.make_policy(users["owner"], "published", admin=users["admin"])
    before = _state(db)
    response = api_as("owner").post(
        f"policies/{policy.id}/transitions", json={"status": "retired", "reason": "   "}
    )
    _error(response, 422)
    assert _fields(response) == {"reason"}
    assert _state(db) == before


def test_a_move_with_a_stale_version_is_409(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    factories.edit_policy(policy.id, users["owner"], title="Edited meanwhile")
    before = _state(db)
    response = api_as("owner").post(
        f"policies/{policy.id}/transitions", json={"status": "in_review", "version": 1}
    )
    assert _error(response, 409)["code"] == "conflict"
    assert _state(db) == before


def test_methods_the_api_does_not_have_are_405_json(api_as, users, db):
    policy = factories.make_policy(users["owner"])
    before = _state(db)
    response = api_as("admin").delete(f"policies/{policy.id}")
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert "PATCH" in response.headers["Allow"]
    assert _state(db) == before
