"""Frozen published versions: labels, content hashes, approvers, the versions pages, what
readers see beside a draft, and decisions that stop counting when the content changes."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from governance.approvals import service as approvals
from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.models import Execution
from governance.notifications.models import Notification
from governance.policies import service as policies
from governance.policies import versions
from governance.policies.models import PolicyRevision
from governance.unit_of_work import unit_of_work
from tests.factories import (
    approval_requests,
    edit_policy,
    make_policy,
    make_workflow,
    run_queued_steps,
    step,
)

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _publish_again(policy_id, users, change_kind: str, **changes) -> None:
    """Start a revision, edit it, and take it through review to publication."""
    owner, admin = users["owner"], users["admin"]
    policies.transition_policy(policy_id, "draft", actor=owner)
    edit_policy(policy_id, owner, **changes)
    policies.transition_policy(policy_id, "in_review", actor=owner, change_kind=change_kind)
    policies.transition_policy(policy_id, "approved", actor=admin)
    policies.transition_policy(policy_id, "published", actor=owner)


def _version(policy_id: int, label: str) -> PolicyRevision:
    return versions.get_version(policy_id, label)


def test_publishing_freezes_the_revision_with_label_hash_and_approver(db, users):
    policy = make_policy(users["owner"], status="published", admin=users["admin"])
    version = _version(policy.id, "1.0")
    assert version.number == policy.current_revision == policy.published_revision
    assert version.content_hash == versions.content_hash(
        title=policy.title, category=policy.category, tags=policy.tags, body=policy.body
    )
    assert len(version.content_hash) == 64
    assert version.change_kind == "major"
    assert version.published_by_id == users["owner"].id
    assert [a["name"] for a in version.approvers] == [users["admin"].name]
    assert version.approvers[0]["via"] == "manual approval"


def test_the_database_refuses_any_change_to_a_frozen_version(db, users):
    policy = make_policy(users["owner"], status="published", admin=users["admin"])
    version_id = _version(policy.id, "1.0").id
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(
            sa.update(PolicyRevision)
            .where(PolicyRevision.id == version_id)
            .values(body="Quietly rewritten")
        )
        db.session.flush()
    db.session.rollback()
    version = db.session.get(PolicyRevision, version_id)
    version.approvers = [{"id": 0, "name": "Someone else", "at": None, "via": "forged"}]
    with pytest.raises(sa.exc.DBAPIError):
        db.session.commit()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(PolicyRevision, version_id).body == policy.body


def test_minor_and_major_changes_label_the_next_versions(db, users):
    policy = make_policy(users["owner"], status="published", admin=users["admin"])
    _publish_again(policy.id, users, "minor", body="Wording fixed.\n")
    assert versions.latest_label(policy.id) == "1.1"
    _publish_again(policy.id, users, "minor", body="Wording fixed again.\n")
    _publish_again(policy.id, users, "major", body="A new rule.\n")
    assert [v.version_label for v in versions.list_versions(policy.id)] == [
        "2.0",
        "1.2",
        "1.1",
        "1.0",
    ]
    assert _version(policy.id, "1.1").body == "Wording fixed.\n"
    assert versions.next_label("2.0", "minor") == "2.1"
    assert versions.next_label("1.9", "minor") == "1.10"
    assert versions.next_label("1.9", "major") == "2.0"


def test_a_later_edit_makes_a_draft_and_the_published_text_stays_readable(db, users, login):
    owner, viewer = users["owner"], users["viewer"]
    policy = make_policy(owner, status="published", admin=users["admin"], body="Original text.\n")
    policies.transition_policy(policy.id, "draft", actor=owner)
    edit_policy(policy.id, owner, body="Draft text nobody approved.\n")
    assert _version(policy.id, "1.0").body == "Original text.\n"

    reader = login(viewer)
    page = reader.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Original text." in page and "Draft text nobody approved" not in page
    assert "Published" in page and "v1.0" in page
    version_page = reader.get(f"/policies/{policy.id}/versions/1.0")
    assert version_page.status_code == 200
    assert "Original text." in version_page.get_data(as_text=True)
    assert _version(policy.id, "1.0").content_hash in version_page.get_data(as_text=True)
    # The draft revision itself is not for readers, by page or by comparison.
    draft_number = policies.get_policy(policy.id).current_revision
    assert reader.get(f"/policies/{policy.id}/revisions/{draft_number}").status_code == 404
    assert reader.get(f"/policies/{policy.id}/compare?from=1&to={draft_number}").status_code == 404
    assert reader.get(f"/policies/{policy.id}/versions/9.9").status_code == 404

    # The owner sees the working copy and is told readers still see v1.0.
    own = login(owner).get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Draft text nobody approved." in own
    assert "Readers see v1.0 until this is published" in own


def test_a_viewer_reads_through_the_api_the_live_version_not_the_draft(db, users, api_as):
    owner = users["owner"]
    policy = make_policy(owner, status="published", admin=users["admin"], body="Live.\n")
    policies.transition_policy(policy.id, "draft", actor=owner)
    edit_policy(policy.id, owner, body="Unpublished draft.\n")
    body = api_as("viewer").get(f"/api/v1/policies/{policy.id}").get_json()
    assert body["body"] == "Live.\n"
    assert body["current_version"]["version_label"] == "1.0"
    assert body["published_version"]["content_hash"] == _version(policy.id, "1.0").content_hash
    assert "Unpublished" not in str(body)


def test_the_policy_page_shows_the_version_line_and_the_changes_since_the_last(db, users, login):
    policy = make_policy(users["owner"], status="published", admin=users["admin"], body="A\nB\n")
    _publish_again(policy.id, users, "minor", body="A\nC\n", title="Renamed policy")
    page = login(users["viewer"]).get(f"/policies/{policy.id}").get_data(as_text=True)
    published_on = _version(policy.id, "1.1").published_at.strftime("%d %b %Y")
    assert f"v1.1</a></strong>\n    on {published_on}" in page
    assert f'by <span class="published-by">{users["owner"].name}</span>' in page
    assert f'approved by <span class="approved-by">{users["admin"].name}</span>' in page
    assert "Changes from v1.0 to v1.1 (1 changed line, title)" in page
    versions_page = login(users["viewer"]).get(f"/policies/{policy.id}/versions")
    assert versions_page.status_code == 200
    assert "v1.1" in versions_page.get_data(as_text=True)


def test_published_by_and_approved_by_agree_on_the_page_the_pdf_and_the_api(
    db, users, login, api_as
):
    """The owner published, the admin approved: every view names each for what they did."""
    owner, admin = users["owner"], users["admin"]
    policy = make_policy(owner, status="published", admin=admin)
    viewer = login(users["viewer"])

    page = viewer.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert f'by <span class="published-by">{owner.name}</span>' in page
    assert f'approved by <span class="approved-by">{admin.name}</span>' in page
    assert f'by <span class="published-by">{admin.name}' not in page

    version_page = viewer.get(f"/policies/{policy.id}/versions/1.0").get_data(as_text=True)
    assert f"UTC)</span></time> by {owner.name}</dd>" in version_page  # the reader's zone: UTC
    assert f"<dt>Approved by</dt><dd>{admin.name}" in version_page

    pdf = PdfReader(io.BytesIO(viewer.get(f"/policies/{policy.id}/versions/1.0/pdf").data))
    text = " ".join(pdf.pages[0].extract_text().split())
    assert f"Published by {owner.name}" in text
    assert f"Approved by {admin.name} (manual approval)" in text

    version = api_as("viewer").get(f"/api/v1/policies/{policy.id}").get_json()["published_version"]
    assert version["published_by"] == owner.name
    assert [approver["name"] for approver in version["approvers"]] == [admin.name]


def test_submitting_asks_major_or_minor_once_a_version_exists(db, users, login):
    owner = users["owner"]
    draft = make_policy(owner)
    client = login(owner)
    assert "first publication will be version 1.0" in client.get(f"/policies/{draft.id}").get_data(
        as_text=True
    )

    policy = make_policy(owner, status="published", admin=users["admin"])
    policies.transition_policy(policy.id, "draft", actor=owner)
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Major: becomes v2.0" in page and "Minor: becomes v1.1" in page
    refused = client.submit(
        f"/policies/{policy.id}/transition",
        {
            "target": "in_review",
            "change_kind": "huge",
            "version": policies.get_policy(policy.id).version,
        },
        token_from=f"/policies/{policy.id}",
        follow_redirects=True,
    )
    assert "Choose a major or a minor change." in refused.get_data(as_text=True)
    assert policies.get_policy(policy.id).status == "draft"
    client.submit(
        f"/policies/{policy.id}/transition",
        {
            "target": "in_review",
            "change_kind": "minor",
            "version": policies.get_policy(policy.id).version,
        },
        token_from=f"/policies/{policy.id}",
    )
    db.session.expire_all()
    assert policies.get_policy(policy.id).change_kind == "minor"


def test_decisions_on_old_content_do_not_count_and_approvers_are_asked_again(db, users):
    owner, admin = users["owner"], users["admin"]
    make_workflow(
        admin,
        trigger=SUBMITTED,
        stages=[
            [
                step(
                    "review",
                    "approval",
                    {"users": [users["approver"].id, users["security"].id], "rule": "all"},
                )
            ]
        ],
    )
    policy = make_policy(owner, body="First text.\n")
    policies.transition_policy(policy.id, "in_review", actor=owner)
    run_queued_steps()
    first, second = approval_requests(db)
    approvals.record_decision(first.id, user=users["approver"], decision="approved")
    old_hash = approval_requests(db)[0].content_hash
    assert old_hash == versions.policy_content_hash(policies.get_policy(policy.id))

    # Sent back and changed while the execution still waits for the second approver.
    policies.transition_policy(policy.id, "draft", actor=admin, reason="Tighten section 2")
    edit_policy(policy.id, owner, body="Changed text.\n")

    first, second = approval_requests(db)
    assert first.status == "pending" and first.decided_by_id is None
    assert first.content_hash is None
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "approval.reasked", AuditEvent.object_id == first.id)
        )
        == 1
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == users["approver"].id,
                Notification.subject.contains("decide again"),
            )
        )
        == 1
    )

    # Both decide on the new content; only those decisions name the published version.
    approvals.record_decision(first.id, user=users["approver"], decision="approved")
    approvals.record_decision(second.id, user=users["security"], decision="approved")
    policies.transition_policy(policy.id, "in_review", actor=owner)
    # The resubmission started a new review; the manual approval waits until it is cancelled.
    review = db.session.scalar(sa.select(sa.func.max(Execution.id)))
    with unit_of_work():
        operate.cancel_execution(review, actor_id=admin.id)
    policies.transition_policy(policy.id, "approved", actor=admin)
    policies.transition_policy(policy.id, "published", actor=owner)
    names = [a["name"] for a in _version(policy.id, "1.0").approvers]
    assert users["approver"].name in names and users["security"].name in names
    new_hash = _version(policy.id, "1.0").content_hash
    assert new_hash != old_hash
    assert {r.content_hash for r in approval_requests(db) if r.status == "approved"} == {new_hash}
