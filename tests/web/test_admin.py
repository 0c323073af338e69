"""Administration of users and groups through HTTP with CSRF on, and the account CLI commands."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from governance.approvals import inbox
from governance.audit.models import AuditEvent
from governance.auth.models import Group, User
from governance.engine.models import Execution, Workflow
from governance.policies.models import Policy, PolicyRevision
from governance.policy_exceptions.models import PolicyException
from tests import factories
from tests.conftest import WebClient
from tests.factories import count_rows

NEW_PASSWORD = "a long initial password"

# (method, url template): every admin page and action. {user} and {group} are real ids.
ADMIN_ROUTES = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("POST", "/admin/users/new"),
    ("GET", "/admin/users/{user}"),
    ("POST", "/admin/users/{user}"),
    ("POST", "/admin/users/{user}/deactivate"),
    ("POST", "/admin/users/{user}/reactivate"),
    ("GET", "/admin/groups"),
    ("POST", "/admin/groups"),
    ("GET", "/admin/groups/{group}"),
    ("POST", "/admin/groups/{group}"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit.csv"),
    ("GET", "/admin/audit/checkpoints.jsonl"),
]
ROUTE_IDS = [f"{method} {url}" for method, url in ADMIN_ROUTES]


def _actions(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _user(db, email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def _group_id(db, name: str) -> int:
    return db.session.scalar(sa.select(Group.id).where(Group.name == name))


def _request(client: WebClient, method: str, url: str, *, csrf_page: str = "/account"):
    if method == "GET":
        return client.get(url)
    # A valid token for this client's session, so only the access rule can refuse the POST.
    return client.post(url, data={"csrf_token": client.csrf_token(csrf_page)})


def _fill(url: str, users, db) -> str:
    return url.format(user=users["viewer"].id, group=_group_id(db, "Legal"))


# Who may use the admin pages


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES, ids=ROUTE_IDS)
def test_anonymous_visitor_is_sent_to_login_from_every_admin_route(client, users, db, method, url):
    response = _request(client, method, _fill(url, users, db), csrf_page="/login")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES, ids=ROUTE_IDS)
def test_non_admin_roles_are_refused_every_admin_route(as_role, users, db, role, method, url):
    client = as_role(role)
    events = count_rows(db, AuditEvent)

    response = _request(client, method, _fill(url, users, db))

    assert response.status_code == 403
    assert "You do not have permission to do that." in response.get_data(as_text=True)
    assert count_rows(db, AuditEvent) == events
    assert _user(db, users["viewer"].email).is_enabled


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES, ids=ROUTE_IDS)
def test_admin_can_use_every_admin_route(as_role, users, db, method, url):
    client = as_role("admin")

    response = _request(client, method, _fill(url, users, db))

    assert response.status_code in {200, 302, 303}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/admin/users/99999"),
        ("POST", "/admin/users/99999"),
        ("POST", "/admin/users/99999/deactivate"),
        ("POST", "/admin/users/99999/reactivate"),
        ("GET", "/admin/groups/99999"),
        ("POST", "/admin/groups/99999"),
    ],
)
def test_unknown_user_or_group_is_not_found_for_the_admin(as_role, method, url):
    response = _request(as_role("admin"), method, url)

    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


# Creating users


def _new_user_form(db, **overrides) -> dict:
    return {
        "email": "new.person@example.org",
        "name": "New Person",
        "password": NEW_PASSWORD,
        "roles": ["owner", "approver"],
        "groups": [str(_group_id(db, "Legal"))],
    } | overrides


def test_admin_creates_a_user_with_a_scrypt_hash_roles_and_groups(as_role, users, db):
    client = as_role("admin")

    response = client.submit("/admin/users/new", _new_user_form(db))

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = _user(db, "new.person@example.org")
    assert user is not None
    assert user.password_hash.startswith("scrypt:")
    assert NEW_PASSWORD not in user.password_hash
    assert check_password_hash(user.password_hash, NEW_PASSWORD)
    assert user.roles == {"owner", "approver"}
    assert [group.name for group in user.groups] == ["Legal"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.created"))
    assert event.object_id == user.id
    assert event.actor_id == users["admin"].id
    assert NEW_PASSWORD not in str(event.changes)


def test_created_user_can_log_in_with_the_initial_password(as_role, app, users, db):
    as_role("admin").submit("/admin/users/new", _new_user_form(db))

    app.test_client_class = WebClient
    response = app.test_client().login("new.person@example.org", NEW_PASSWORD)

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "taken@example.org"}, "A user with this email already exists."),
        ({"email": "TAKEN@Example.org"}, "A user with this email already exists."),
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"password": "short"}, "Use at least 15 characters for the password (it has 5)."),
        ({"roles": []}, "Give the user at least one role."),
        ({"roles": ["superuser"]}, "is not a valid choice"),
        ({"roles": ["owner", "superuser"]}, "is not a valid choice"),
        ({"groups": ["99999"]}, "is not a valid choice"),
        ({"name": ""}, "This field is required."),
    ],
    ids=[
        "duplicate email",
        "duplicate email in other case",
        "invalid email",
        "short password",
        "no role",
        "forged role",
        "forged role beside a real one",
        "unknown group",
        "no name",
    ],
)
def test_bad_new_user_is_refused_with_a_message_and_no_row(as_role, users, db, overrides, message):
    factories.make_user("viewer", email="taken@example.org")
    client = as_role("admin")
    before = count_rows(db, User)

    response = client.submit("/admin/users/new", _new_user_form(db, **overrides))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count_rows(db, User) == before
    assert "user.created" not in _actions(db)


def test_new_user_without_csrf_token_is_refused(as_role, users, db):
    client = as_role("admin")
    before = count_rows(db, User)

    response = client.post("/admin/users/new", data=_new_user_form(db))

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert count_rows(db, User) == before


def test_new_user_with_a_forged_csrf_token_is_refused(as_role, users, db):
    client = as_role("admin")
    before = count_rows(db, User)

    response = client.post(
        "/admin/users/new", data=_new_user_form(db, csrf_token="forged.token.value")
    )

    assert response.status_code == 400
    assert count_rows(db, User) == before


# Editing, deactivating and reactivating users


def test_admin_changes_a_users_roles_and_groups(as_role, users, db):
    client = as_role("admin")
    target = users["approver"]
    security = _group_id(db, "Security")

    response = client.submit(
        f"/admin/users/{target.id}",
        {"name": "Renamed Approver", "roles": ["owner", "viewer"], "groups": [str(security)]},
    )

    assert response.status_code == 302
    user = _user(db, target.email)
    assert user.name == "Renamed Approver"
    assert user.roles == {"owner", "viewer"}
    assert [group.name for group in user.groups] == ["Security"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.object_id == target.id
    assert event.changes["roles"] == {"before": ["approver"], "after": ["owner", "viewer"]}
    assert event.changes["groups"] == {"before": ["Legal"], "after": ["Security"]}


def test_admin_cannot_remove_their_own_admin_role(as_role, users, db):
    client = as_role("admin")
    admin = users["admin"]

    response = client.submit(
        f"/admin/users/{admin.id}", {"name": admin.name, "roles": ["viewer"], "groups": []}
    )

    assert response.status_code == 200
    assert "You cannot remove your own admin role." in response.get_data(as_text=True)
    assert _user(db, admin.email).roles == {"admin"}
    assert "user.updated" not in _actions(db)


def test_admin_cannot_deactivate_themselves(as_role, users, db):
    client = as_role("admin")
    admin = users["admin"]

    response = client.submit(
        f"/admin/users/{admin.id}/deactivate", token_from="/admin/users", follow_redirects=True
    )

    assert response.status_code == 200
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert _user(db, admin.email).is_enabled
    assert "user.deactivated" not in _actions(db)
    assert client.get("/admin/users").status_code == 200


def test_deactivated_user_cannot_log_in_and_reactivated_user_can(as_role, app, users, db):
    client = as_role("admin")
    target = users["owner"]
    app.test_client_class = WebClient

    response = client.submit(f"/admin/users/{target.id}/deactivate", token_from="/admin/users")

    assert response.status_code == 303
    user = _user(db, target.email)
    assert not user.is_enabled
    assert user.deactivated_at is not None
    refused = app.test_client().login(target.email)
    assert refused.status_code == 200
    assert "Email or password is not correct." in refused.get_data(as_text=True)

    response = client.submit(f"/admin/users/{target.id}/reactivate", token_from="/admin/users")

    assert response.status_code == 303
    user = _user(db, target.email)
    assert user.is_enabled
    assert user.deactivated_at is None
    assert app.test_client().login(target.email).status_code == 302
    assert _actions(db)[-3:-1] == ["user.deactivated", "user.reactivated"]


def test_deactivation_is_audited_with_the_acting_admin(as_role, users, db):
    client = as_role("admin")
    target = users["viewer"]

    client.submit(f"/admin/users/{target.id}/deactivate", token_from="/admin/users")

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deactivated"))
    assert (event.actor_id, event.object_type, event.object_id) == (
        users["admin"].id,
        "user",
        target.id,
    )


def test_deactivate_without_csrf_token_changes_nothing(as_role, users, db):
    client = as_role("admin")
    target = users["viewer"]

    response = client.post(f"/admin/users/{target.id}/deactivate")

    assert response.status_code == 400
    assert _user(db, target.email).is_enabled
    assert "user.deactivated" not in _actions(db)


def test_users_list_shows_everyone_with_their_state(as_role, users, db):
    factories.make_user("viewer", email="gone@example.test", enabled=False)

    html = as_role("admin").get("/admin/users").get_data(as_text=True)

    for user in users.values():
        assert user.email in html
    assert "gone@example.test" in html
    assert "Deactivated" in html


# Groups


def test_admin_creates_a_group(as_role, users, db):
    client = as_role("admin")

    response = client.submit("/admin/groups", {"name": "Compliance"})

    group_id = _group_id(db, "Compliance")
    assert group_id is not None
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/groups/{group_id}"
    assert "group.created" in _actions(db)


@pytest.mark.parametrize("name", ["Legal", "legal", "  LEGAL  "])
def test_group_name_must_be_unique_ignoring_case(as_role, users, db, name):
    client = as_role("admin")
    before = count_rows(db, Group)

    response = client.submit("/admin/groups", {"name": name})

    assert response.status_code == 200
    assert "A group with this name already exists." in response.get_data(as_text=True)
    assert count_rows(db, Group) == before
    assert "group.created" not in _actions(db)


def test_group_without_a_name_is_refused(as_role, users, db):
    client = as_role("admin")
    before = count_rows(db, Group)

    response = client.submit("/admin/groups", {"name": "   "})

    assert response.status_code == 200
    assert "This field is required." in response.get_data(as_text=True)
    assert count_rows(db, Group) == before


def test_admin_renames_a_group_and_sets_its_members(as_role, users, db):
    client = as_role("admin")
    legal = _group_id(db, "Legal")
    members = [users["owner"].id, users["security"].id]

    response = client.submit(
        f"/admin/groups/{legal}",
        {"name": "Legal and Privacy", "members": [str(member) for member in members]},
    )

    assert response.status_code == 302
    db.session.expire_all()
    group = db.session.get(Group, legal)
    assert group.name == "Legal and Privacy"
    assert sorted(member.id for member in group.members) == sorted(members)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "group.updated"))
    assert event.changes["name"] == {"before": "Legal", "after": "Legal and Privacy"}
    assert event.changes["members"]["after"] == sorted(
        [users["owner"].email, users["security"].email]
    )


def test_renaming_a_group_to_another_groups_name_is_refused(as_role, users, db):
    client = as_role("admin")
    legal = _group_id(db, "Legal")

    response = client.submit(f"/admin/groups/{legal}", {"name": "security", "members": []})

    assert response.status_code == 200
    assert "A group with this name already exists." in response.get_data(as_text=True)
    db.session.expire_all()
    group = db.session.get(Group, legal)
    assert group.name == "Legal"
    assert [member.email for member in group.members] == [users["approver"].email]


def test_renaming_a_group_to_its_own_name_in_another_case_is_allowed(as_role, users, db):
    legal = _group_id(db, "Legal")

    response = as_role("admin").submit(f"/admin/groups/{legal}", {"name": "LEGAL"})

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Group, legal).name == "LEGAL"


def test_group_member_that_does_not_exist_is_refused(as_role, users, db):
    legal = _group_id(db, "Legal")

    response = as_role("admin").submit(
        f"/admin/groups/{legal}", {"name": "Legal", "members": ["99999"]}
    )

    assert response.status_code == 200
    assert "is not a valid choice" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [member.email for member in db.session.get(Group, legal).members] == [
        users["approver"].email
    ]


# The account commands


def test_create_user_command_creates_an_admin(app, db):
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["create-user", "Boss@Example.org", "--role", "admin", "--password", NEW_PASSWORD]
    )

    assert result.exit_code == 0, result.output
    user = _user(db, "boss@example.org")
    assert user is not None
    assert user.roles == {"admin"}
    assert check_password_hash(user.password_hash, NEW_PASSWORD)
    app.test_client_class = WebClient
    assert app.test_client().login("boss@example.org", NEW_PASSWORD).status_code == 302


def test_create_user_command_refuses_a_duplicate_email_cleanly(app, db):
    runner = app.test_cli_runner()
    args = ["create-user", "boss@example.org", "--role", "admin", "--password", NEW_PASSWORD]
    runner.invoke(args=args)

    result = runner.invoke(args=args)

    assert result.exit_code == 1
    assert "Error: A user with this email already exists." in result.output
    assert "Traceback" not in result.output
    assert count_rows(db, User) == 1


def test_create_user_command_refuses_a_malformed_email_like_the_form(app, db):
    result = app.test_cli_runner().invoke(
        args=["create-user", "not-an-email", "--role", "admin", "--password", NEW_PASSWORD]
    )

    assert result.exit_code == 1
    assert "Enter a valid email address" in result.output
    assert count_rows(db, User) == 0


def test_create_user_command_refuses_a_short_password(app, db):
    result = app.test_cli_runner().invoke(
        args=["create-user", "boss@example.org", "--role", "admin", "--password", "short"]
    )

    assert result.exit_code == 1
    assert "at least 15 characters" in result.output
    assert count_rows(db, User) == 0


def test_seed_demo_creates_the_demo_organisation_once(app, db):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-demo"])

    assert first.exit_code == 0, first.output
    models = (User, Group, Policy, PolicyRevision, Workflow, Execution, PolicyException)
    counts = {model: count_rows(db, model) for model in models}
    assert counts[User] == 7
    assert counts[Group] == 3
    assert counts[Policy] == 14  # 12 across every status, and two submitted for review
    assert counts[Workflow] == 4
    assert count_rows(db, Workflow, Workflow.status == "active") == 4
    # The submitted policies started "Review on submit", which waits for Legal and Security:
    # approvers have requests in their inboxes at once, one submission already overdue.
    # "Exception approval" approved one exception and waits for Security on the other.
    assert counts[Execution] == 4
    assert count_rows(db, Execution, Execution.status == "waiting") == 3
    assert count_rows(db, PolicyException, PolicyException.status == "active") == 1
    assert count_rows(db, PolicyException, PolicyException.status == "pending") == 1
    for approver in ("lena@example.org", "sam@example.org", "priya@example.org"):
        assert inbox.waiting_count(_user(db, approver).id) >= 2
    assert inbox.tab_counts(_user(db, "lena@example.org").id)["overdue"] == 1
    assert counts[PolicyRevision] > counts[Policy]
    admin = _user(db, "admin@example.org")
    assert admin.roles == {"admin"}
    events = count_rows(db, AuditEvent)

    second = runner.invoke(args=["seed-demo"])

    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output
    assert {model: count_rows(db, model) for model in counts} == counts
    assert count_rows(db, AuditEvent) == events
