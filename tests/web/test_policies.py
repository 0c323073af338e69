"""Policies through HTTP: list and search, create, edit, lifecycle, revisions, events, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance import events
from governance.audit.models import AuditEvent
from governance.extensions import db as _db
from governance.policies.cadence import add_months
from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated
from governance.policies.models import Policy, PolicyRevision
from governance.timeutil import utcnow
from tests import factories
from tests.factories import count_rows


def _policy_form(**overrides) -> dict:
    return {
        "title": "Vendor Risk Policy",
        "category": "Procurement",
        "body": "# Vendors\n\nAssess every vendor.",
        "tags": "Vendors, third parties",
        "review_frequency": "yearly",
        "review_interval_days": "",
        "next_review_on": "",
        "summary": "",
    } | overrides


@pytest.fixture
def published_events():
    received: list[PolicyCreated | PolicyUpdated | PolicyStatusChanged] = []
    event_types = (PolicyCreated, PolicyUpdated, PolicyStatusChanged)
    for event_type in event_types:
        events.subscribe(event_type, received.append)
    yield received
    for event_type in event_types:
        events.unsubscribe(event_type, received.append)


# ------------------------------------------------------------------ create


def test_owner_creates_a_draft_with_its_first_revision(as_role, users, db, published_events):
    client = as_role("owner")
    response = client.submit("/policies/new", _policy_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    policy = db.session.scalar(sa.select(Policy))
    assert policy.status == "draft"
    assert policy.owner_id == users["owner"].id
    assert policy.tags == "third parties,vendors"
    today = utcnow().date()
    assert (policy.review_frequency, policy.review_interval_days) == ("yearly", None)
    assert policy.next_review_on == policy.review_anchor_on == add_months(today, 12)
    assert count_rows(_db, PolicyRevision, PolicyRevision.policy_id == policy.id) == 1
    assert [type(event) for event in published_events] == [PolicyCreated]
    assert published_events[0].actor_id == users["owner"].id
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "policy.created"))
    assert [event.object_id for event in audit] == [policy.id]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Give the policy a title."),
        ({"title": "   "}, "Give the policy a title."),
        ({"title": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"category": ""}, "Choose or type a category."),
        ({"next_review_on": "31/02/2027"}, "Enter the date as YYYY-MM-DD, e.g. 2030-12-31."),
        ({"review_frequency": "weekly"}, "Choose a review cadence from the list."),
        (
            {"review_frequency": "custom"},
            "Give the number of days between reviews for a custom cadence.",
        ),
        (
            {"review_frequency": "custom", "review_interval_days": "0"},
            "Enter a whole number from 1 to 3660.",
        ),
        (
            {"review_frequency": "custom", "review_interval_days": "forever"},
            "Enter a whole number from 1 to 3660.",
        ),
        ({"tags": ",".join(f"t{i}" for i in range(25))}, "Use at most 20 tags."),
    ],
)
def test_bad_policy_input_is_answered_and_nothing_is_saved(as_role, db, overrides, message):
    response = as_role("owner").submit("/policies/new", _policy_form(**overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count_rows(_db, Policy) == 0
    assert count_rows(_db, AuditEvent, AuditEvent.action == "policy.created") == 0


def test_oversized_body_is_refused_with_the_limit(app, as_role, db):
    limit = app.config["POLICY_BODY_MAX_CHARS"]
    response = as_role("owner").submit("/policies/new", _policy_form(body="a" * (limit + 1)))
    assert response.status_code == 200
    assert f"the limit is {limit:,}" in response.get_data(as_text=True)
    assert count_rows(_db, Policy) == 0


def test_unknown_owner_is_refused_for_an_admin(as_role, db):
    response = as_role("admin").submit("/policies/new", _policy_form(owner_id="99999"))
    assert "Choose an owner from the list of active policy owners." in response.get_data(
        as_text=True
    )
    assert count_rows(_db, Policy) == 0


def test_admin_cannot_give_a_policy_to_a_viewer(as_role, users, db):
    response = as_role("admin").submit(
        "/policies/new", _policy_form(owner_id=str(users["viewer"].id))
    )
    assert "Choose an owner" in response.get_data(as_text=True)
    assert count_rows(_db, Policy) == 0


def test_admin_assigns_an_owner(as_role, users, db):
    response = as_role("admin").submit(
        "/policies/new", _policy_form(owner_id=str(users["other_owner"].id))
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Policy.owner_id)) == users["other_owner"].id


def test_forged_status_and_owner_fields_change_nothing(as_role, users, db):
    form = _policy_form(status="published", owner_id=str(users["other_owner"].id), version="99")
    response = as_role("owner").submit("/policies/new", form)
    assert response.status_code == 302
    policy = db.session.scalar(sa.select(Policy))
    assert policy.status == "draft"
    assert policy.owner_id == users["owner"].id


def test_missing_csrf_token_is_refused_and_nothing_is_saved(as_role, db):
    client = as_role("owner")
    response = client.post("/policies/new", data=_policy_form())
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert count_rows(_db, Policy) == 0


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_only_owners_and_admins_create_policies(as_role, db, role):
    client = as_role(role)
    assert client.get("/policies/new").status_code == 403
    token = client.csrf_token("/account")
    response = client.post("/policies/new", data=_policy_form(csrf_token=token))
    assert response.status_code == 403
    assert count_rows(_db, Policy) == 0


def test_anonymous_visitors_are_sent_to_login(client, users, db):
    policy = factories.make_policy(users["owner"])
    for url in ["/policies", f"/policies/{policy.id}", "/policies/new"]:
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    response = client.post(f"/policies/{policy.id}/edit", data=_policy_form())
    assert response.status_code in (302, 400)
    assert db.session.get(Policy, policy.id).title == policy.title


# ------------------------------------------------------------------ edit


def _fresh(policy) -> Policy:
    """The policy as the database has it now (requests run in their own sessions)."""
    _db.session.expire_all()
    return _db.session.get(Policy, policy.id)


def _edit(client, policy, **overrides):
    policy = _fresh(policy)
    form = _policy_form(
        title=policy.title, version=str(policy.version), owner_id=str(policy.owner_id)
    )
    form |= overrides
    return client.submit(f"/policies/{policy.id}/edit", form)


def test_owner_edit_creates_a_new_immutable_revision(as_role, users, db, published_events):
    policy = factories.make_policy(users["owner"], title="Travel")
    client = as_role("owner")
    response = _edit(client, policy, body="New text", summary="Rewrote it")
    assert response.status_code == 302
    db.session.expire_all()
    revisions = db.session.scalars(sa.select(PolicyRevision).order_by(PolicyRevision.number)).all()
    assert [(r.number, r.body, r.summary) for r in revisions] == [
        (1, "# Purpose\n\nKeep things safe.\n", "First version"),
        (2, "New text", "Rewrote it"),
    ]
    assert db.session.get(Policy, policy.id).current_revision == 2
    assert [type(event) for event in published_events] == [PolicyCreated, PolicyUpdated]
    update = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "policy.updated"))
    assert update.changes["body"]["after"] == "New text"


def test_stale_edit_is_refused_instead_of_overwriting(as_role, users, db):
    policy = factories.make_policy(users["owner"])
    stale_version = policy.version
    client = as_role("owner")
    assert _edit(client, policy, body="First save").status_code == 302
    response = _edit(client, policy, body="Second save", version=str(stale_version))
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Policy, policy.id).body == "First save"
    assert count_rows(_db, PolicyRevision) == 2


def test_editing_without_changes_saves_no_revision(as_role, users, db):
    policy = factories.make_policy(users["owner"], tags="")
    response = _edit(
        as_role("owner"),
        policy,
        body=policy.body,
        category=policy.category,
        tags="",
        review_frequency="",
    )
    assert "Nothing changed" in response.get_data(as_text=True)
    assert count_rows(_db, PolicyRevision) == 1


@pytest.mark.parametrize(
    ("role", "status"),
    # A viewer may not read a draft at all (404); the others read it but may not edit (403).
    [("other_owner", 403), ("approver", 403), ("viewer", 404)],
)
def test_only_the_owner_or_an_admin_edits(as_role, users, db, role, status):
    policy = factories.make_policy(users["owner"])
    response = _edit(as_role(role), policy, body="Hijacked")
    assert response.status_code == status
    db.session.expire_all()
    assert db.session.get(Policy, policy.id).body != "Hijacked"


def test_admin_edits_any_draft(as_role, users, db):
    policy = factories.make_policy(users["owner"])
    assert _edit(as_role("admin"), policy, body="Admin fix").status_code == 302


def test_editing_an_unknown_policy_is_404(as_role, db, users):
    assert as_role("owner").get("/policies/424242/edit").status_code == 404
    assert as_role("owner").get("/policies/424242").status_code == 404


def test_a_policy_in_review_cannot_be_edited(as_role, users, db):
    policy = factories.make_policy(users["owner"], status="in_review")
    client = as_role("owner")
    response = client.get(f"/policies/{policy.id}/edit", follow_redirects=True)
    assert "only drafts can be edited" in response.get_data(as_text=True)
    token = client.csrf_token(f"/policies/{policy.id}")
    form = _policy_form(version=str(policy.version), body="Sneaky", csrf_token=token)
    client.post(f"/policies/{policy.id}/edit", data=form)
    db.session.expire_all()
    assert db.session.get(Policy, policy.id).body != "Sneaky"


# ------------------------------------------------------------------ lifecycle


def _transition(client, policy, target, **extra):
    data = {"target": target, "version": str(_fresh(policy).version)} | extra
    return client.submit(
        f"/policies/{policy.id}/transition", data, token_from=f"/policies/{policy.id}"
    )


def _status(db, policy_id) -> str:
    db.session.expire_all()
    return db.session.get(Policy, policy_id).status


def test_full_lifecycle_with_one_event_and_audit_entry_per_step(
    as_role, users, db, published_events
):
    policy = factories.make_policy(users["owner"])
    owner, admin = as_role("owner"), as_role("admin")
    steps = [
        (owner, "in_review", {}),
        (admin, "approved", {}),
        (owner, "published", {}),
        (owner, "retired", {"reason": "Superseded by v2"}),
    ]
    for client, target, extra in steps:
        policy = db.session.get(Policy, policy.id)
        response = _transition(client, policy, target, **extra)
        assert response.status_code == 303, response.get_data(as_text=True)
        assert _status(db, policy.id) == target
    changes = [
        (event.old_status, event.new_status, event.actor_id)
        for event in published_events
        if isinstance(event, PolicyStatusChanged)
    ]
    assert changes == [
        ("draft", "in_review", users["owner"].id),
        ("in_review", "approved", users["admin"].id),
        ("approved", "published", users["owner"].id),
        ("published", "retired", users["owner"].id),
    ]
    assert count_rows(_db, AuditEvent, AuditEvent.action == "policy.status_changed") == 4
    assert db.session.get(Policy, policy.id).retired_reason == "Superseded by v2"


def test_submitter_cannot_approve_own_change_even_as_admin(as_role, users, db):
    policy = factories.make_policy(users["admin"])
    admin = as_role("admin")
    assert _transition(admin, policy, "in_review").status_code == 303
    policy = db.session.get(Policy, policy.id)
    page = admin.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert ">Approve<" not in page
    response = _transition(admin, policy, "approved")
    assert response.status_code == 403
    assert "four-eyes" in response.get_data(as_text=True)
    assert _status(db, policy.id) == "in_review"


def test_an_owner_cannot_approve(as_role, users, db):
    policy = factories.make_policy(users["other_owner"], status="in_review")
    response = _transition(as_role("owner"), policy, "approved")
    assert response.status_code == 403
    assert _status(db, policy.id) == "in_review"


def test_invalid_transition_is_explained_and_changes_nothing(as_role, users, db):
    policy = factories.make_policy(users["owner"])
    client = as_role("owner")
    response = _transition(client, policy, "published")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot become published" in page
    assert "Allowed next: In review" in page
    assert _status(db, policy.id) == "draft"
    assert count_rows(_db, AuditEvent, AuditEvent.action == "policy.status_changed") == 0


def test_forged_target_status_is_refused(as_role, users, db):
    policy = factories.make_policy(users["owner"])
    client = as_role("owner")
    response = _transition(client, policy, "deleted")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is not a policy status" in page
    assert _status(db, policy.id) == "draft"


def test_retiring_needs_a_reason(as_role, users, db):
    policy = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    client = as_role("owner")
    response = _transition(client, policy, "retired", reason="  ")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Give a reason to retire" in page
    assert _status(db, policy.id) == "published"


def test_stale_transition_is_refused(as_role, users, db):
    policy = factories.make_policy(users["owner"])
    client = as_role("owner")
    response = _transition(client, policy, "in_review", version=str(policy.version - 1))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "changed by someone else" in page
    assert _status(db, policy.id) == "draft"


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_viewers_and_approvers_cannot_move_policies(as_role, users, db, role):
    policy = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    response = _transition(as_role(role), policy, "retired", reason="no")
    assert response.status_code == 403
    assert _status(db, policy.id) == "published"


def test_transition_of_unknown_policy_is_404(as_role, users, db):
    client = as_role("owner")
    token = client.csrf_token()
    response = client.post(
        "/policies/999999/transition", data={"target": "in_review", "csrf_token": token}
    )
    assert response.status_code == 404


# ------------------------------------------------------------------ reading


def test_viewer_reads_only_published_policies(as_role, users, db):
    draft = factories.make_policy(users["owner"], title="Secret draft")
    published = factories.make_policy(
        users["owner"], title="Public rules", status="published", admin=users["admin"]
    )
    viewer = as_role("viewer")
    listing = viewer.get("/policies").get_data(as_text=True)
    assert "Public rules" in listing
    assert "Secret draft" not in listing
    assert viewer.get(f"/policies/{draft.id}").status_code == 404
    assert viewer.get(f"/policies/{draft.id}/revisions").status_code == 404
    assert viewer.get(f"/policies/{published.id}").status_code == 200


def test_policy_body_is_rendered_sanitised(as_role, users, db):
    policy = factories.make_policy(
        users["owner"], body="**Bold** <script>alert(1)</script> [x](javascript:alert(1))"
    )
    page = as_role("owner").get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript:' not in page


def test_search_filters_and_sort(as_role, users, db):
    admin = users["admin"]
    factories.make_policy(users["owner"], title="Cookie consent", category="Privacy")
    factories.make_policy(users["owner"], title="Alpha rules", body="mentions encryption keys")
    factories.make_policy(
        users["other_owner"], title="Zebra crossing", status="published", admin=admin
    )
    client = as_role("approver")

    def titles(query: str) -> list[str]:
        html = client.get(f"/policies?{query}").get_data(as_text=True)
        wanted = ["Cookie consent", "Alpha rules", "Zebra crossing"]
        return sorted((html.index(t), t) for t in wanted if t in html)

    assert [t for _, t in titles("q=cookie")] == ["Cookie consent"]
    assert [t for _, t in titles("q=ENCRYPTION")] == ["Alpha rules"]
    assert [t for _, t in titles("status=published")] == ["Zebra crossing"]
    assert [t for _, t in titles(f"owner={users['other_owner'].id}")] == ["Zebra crossing"]
    assert [t for _, t in titles("category=Privacy")] == ["Cookie consent"]
    assert [t for _, t in titles("sort=title")] == [
        "Alpha rules",
        "Cookie consent",
        "Zebra crossing",
    ]
    assert [t for _, t in titles("q=100%25")] == []


def test_review_due_badge_and_filter(as_role, users, db):
    due = factories.make_policy(
        users["owner"], title="Overdue one", status="published", admin=users["admin"]
    )
    factories.make_policy(
        users["owner"],
        title="Fresh one",
        status="published",
        admin=users["admin"],
        next_review_on=utcnow().date() + timedelta(days=30),
    )
    due.next_review_on = utcnow().date() - timedelta(days=1)
    db.session.commit()
    client = as_role("viewer")
    page = client.get(f"/policies/{due.id}").get_data(as_text=True)
    assert "Review due" in page
    listing = client.get("/policies?review_due=1").get_data(as_text=True)
    assert "Overdue one" in listing
    assert "Fresh one" not in listing


def test_htmx_search_returns_only_the_results_fragment(as_role, users, db):
    factories.make_policy(users["owner"], title="Cookie consent")
    client = as_role("owner")
    fragment = client.get("/policies?q=cookie", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="policy-results"')
    assert "<html" not in html
    assert "Cookie consent" in html
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get("/policies?q=cookie", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_policy_list_uses_a_constant_number_of_queries(as_role, users, db, count_statements):
    client = as_role("owner")

    def statements_for(url: str) -> int:
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    factories.make_policy(users["owner"])
    few_first = statements_for("/policies")
    for number in range(60):
        owner = users["owner"] if number % 2 else users["other_owner"]
        factories.make_policy(owner, title=f"Bulk {number:03}")
    many_first = statements_for("/policies")
    many_last = statements_for("/policies?page=3")
    searched = statements_for("/policies?q=Bulk&status=draft&page=2")
    assert few_first == many_first == many_last == searched


def test_pagination_walks_every_policy_once(as_role, users, db):
    for number in range(30):
        factories.make_policy(users["owner"], title=f"P{number:02}")
    client = as_role("owner")
    seen: list[str] = []
    for page in (1, 2):
        html = client.get(f"/policies?sort=title&page={page}").get_data(as_text=True)
        seen += [f"P{n:02}" for n in range(30) if f">P{n:02}<" in html]
    assert sorted(seen) == [f"P{n:02}" for n in range(30)]
    assert len(seen) == 30


# ------------------------------------------------------------------ revisions


def test_revisions_are_listed_and_compared_side_by_side(as_role, users, db):
    policy = factories.make_policy(users["owner"], body="Keep records for 5 years.\nAsk Legal.")
    client = as_role("owner")
    _edit(client, policy, body="Keep records for 7 years.\nAsk Legal.", summary="Longer")
    policy = db.session.get(Policy, policy.id)
    _edit(client, policy, body="Keep records for 7 years.\nAsk Legal.\nAudit yearly.")
    listing = client.get(f"/policies/{policy.id}/revisions").get_data(as_text=True)
    for number in (1, 2, 3):
        assert f'id="revision-row-{number}"' in listing
    compare = client.get(f"/policies/{policy.id}/compare?from=1&to=3").get_data(as_text=True)
    assert "<del>5</del>" in compare
    assert "<ins>7</ins>" in compare
    assert "Audit yearly." in compare
    reversed_args = client.get(f"/policies/{policy.id}/compare?from=3&to=1")
    assert "Compare revision 1 with 3" in reversed_args.get_data(as_text=True)
    assert client.get(f"/policies/{policy.id}/revisions/2").status_code == 200
    assert client.get(f"/policies/{policy.id}/revisions/9").status_code == 404
    assert client.get(f"/policies/{policy.id}/compare?from=1&to=9").status_code == 404


def test_revisions_are_never_changed_by_later_edits(as_role, users, db):
    policy = factories.make_policy(users["owner"], body="Original")
    _edit(as_role("owner"), policy, body="Changed")
    first = db.session.scalar(sa.select(PolicyRevision).where(PolicyRevision.number == 1))
    assert first.body == "Original"


# ------------------------------------------------------------------ audit page


def test_audit_page_lists_policy_events_newest_first_with_filters(as_role, users, db):
    policy = factories.make_policy(users["owner"], title="Audited")
    _transition(as_role("owner"), policy, "in_review")
    admin = as_role("admin")
    page = admin.get("/admin/audit?object_type=policy").get_data(as_text=True)
    assert page.index("<code>policy.status_changed</code>") < page.index(
        "<code>policy.created</code>"
    )
    filtered = admin.get("/admin/audit?action=policy.created").get_data(as_text=True)
    assert "policy.created" in filtered
    assert "<code>policy.status_changed</code>" not in filtered
    assert as_role("owner").get("/admin/audit").status_code == 403


def test_pager_links_to_the_last_page_by_its_number(app, as_role, users, db, monkeypatch):
    monkeypatch.setitem(app.config, "POLICIES_PER_PAGE", 2)
    for number in range(5):
        factories.make_policy(users["owner"], title=f"Paged {number}")
    owner = as_role("owner")
    first = owner.get("/policies?sort=title").get_data(as_text=True)
    assert 'href="/policies?sort=title&amp;page=3"' in first and 'rel="last"' in first
    last = owner.get("/policies?sort=title&page=last").get_data(as_text=True)
    assert "Paged 4" in last and "Paged 3" not in last and "Page 3 of 3" in last
    assert 'rel="last"' not in last


def test_search_count_stops_at_its_cap_and_says_so(app, as_role, users, db, monkeypatch):
    monkeypatch.setitem(app.config, "POLICY_SEARCH_COUNT_CAP", 2)
    for number in range(4):
        factories.make_policy(users["owner"], title=f"Capped search {number}")
    owner = as_role("owner")
    searched = owner.get("/policies?q=capped").get_data(as_text=True)
    assert "2+ policies matching “capped”" in searched
    assert "Capped search 3" in searched and "Capped search 0" in searched  # the page is whole
    listed = owner.get("/policies").get_data(as_text=True)
    assert "4 policies" in listed
