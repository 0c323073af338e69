"""Evidence packs end to end: requested over HTTP, built by the queued Huey task (run the way a
consumer runs it), then the ZIP opened and every file checked against its manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.approvals import service as approvals
from governance.audit.models import AuditEvent
from governance.engine.models import Execution
from governance.evidence import pack as builder
from governance.evidence.jobs import build_evidence_pack
from governance.evidence.models import EvidencePack
from governance.extensions import huey
from governance.policies import service as policies
from governance.policies import versions
from governance.timeutil import utcnow
from tests import factories
from tests.factories import approval_requests, make_workflow, run_queued_steps, step
from tests.jobs import consume

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _today() -> date:
    return utcnow().date()


def _request(client, start: date, end: date):
    return client.submit(
        "/evidence", {"period_start": start.isoformat(), "period_end": end.isoformat()}
    )


def _pack(db, pack_id: int | None = None) -> EvidencePack:
    db.session.expire_all()
    if pack_id is None:
        return db.session.scalars(sa.select(EvidencePack).order_by(EvidencePack.id.desc())).first()
    return db.session.get(EvidencePack, pack_id)


def _csv(archive: zipfile.ZipFile, path: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(path).decode("utf-8"))))


def _pack_queued_messages(pack_id: int) -> int:
    return sum(
        1
        for message in huey.pending()
        if message.name == build_evidence_pack.name and message.args == (pack_id,)
    )


@pytest.fixture
def governed_policy(db, users):
    """A policy approved through a workflow (approver) and by hand (admin), published as 1.0,
    then revised and published as 2.0; its 2.0 has an acknowledgement campaign."""
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[[step("review", "approval", {"due_hours": 24, "users": [users["approver"].id]})]],
    )
    policy = factories.make_policy(users["owner"], title="Data Retention Policy")
    policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    run_queued_steps()
    request = approval_requests(db)[0]
    approvals.record_decision(
        request.id, user=users["approver"], decision="approved", comment="Looks right"
    )
    run_queued_steps()
    policy = policies.get_policy(policy.id)
    if policy.status == "in_review":
        policies.transition_policy(policy.id, "approved", actor=users["admin"])
    policies.transition_policy(policy.id, "published", actor=users["owner"])

    policies.transition_policy(policy.id, "draft", actor=users["owner"])
    factories.edit_policy(policy.id, users["owner"], body="# Retention\n\nKeep seven years.\n")
    policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    run_queued_steps()
    for pending in approval_requests(db):
        if pending.status == "pending":
            approvals.record_decision(pending.id, user=users["approver"], decision="approved")
    run_queued_steps()
    policy = policies.get_policy(policy.id)
    if policy.status == "in_review":
        policies.transition_policy(policy.id, "approved", actor=users["admin"])
    policies.transition_policy(policy.id, "published", actor=users["owner"])

    second = versions.get_version(policy.id, "2.0")
    campaign = AckCampaign(
        policy_id=policy.id,
        revision_id=second.id,
        version_label="2.0",
        audience="Everyone",
        due_on=_today() + timedelta(days=14),
    )
    db.session.add(campaign)
    db.session.flush()
    db.session.add_all(
        [
            Acknowledgement(
                campaign_id=campaign.id,
                user_id=users["viewer"].id,
                acknowledged_at=utcnow(),
                version_label="2.0",
                content_hash=second.content_hash,
            ),
            Acknowledgement(campaign_id=campaign.id, user_id=users["approver"].id),
        ]
    )
    db.session.commit()
    return policies.get_policy(policy.id)


@pytest.fixture
def no_evidence_folder(app):
    """The instance's evidence folder removed before and after (the tests share one instance)."""
    folder = Path(app.instance_path) / builder.EVIDENCE_FOLDER

    def clear() -> None:
        if folder.is_dir():
            shutil.rmtree(folder)
        elif folder.exists():
            folder.unlink()

    clear()
    yield folder
    clear()


# ------------------------------------------------------------------ the pack's contents


def test_pack_holds_every_published_version_and_its_manifest_matches(
    as_role, users, db, governed_policy, no_evidence_folder
):
    owner = as_role("owner")
    response = _request(owner, _today() - timedelta(days=30), _today())
    assert response.status_code == 303
    pack = _pack(db)
    assert pack.status == "queued"
    assert _pack_queued_messages(pack.id) == 1

    assert consume() >= 1

    pack = _pack(db, pack.id)
    assert pack.status == "done", pack.error
    assert (pack.items_total, pack.items_done, pack.percent) == (2, 2, 100)
    path = no_evidence_folder.parent / pack.file_path
    data = path.read_bytes()
    assert pack.sha256 == hashlib.sha256(data).hexdigest()
    assert pack.size_bytes == len(data)
    assert pack.finished_at is not None
    assert [p.name for p in no_evidence_folder.iterdir()] == [path.name]  # no temp file left

    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(archive.namelist()) == {*listed, "manifest.json", "manifest.sha256"}
    for name, entry in listed.items():
        content = archive.read(name)
        assert entry["size"] == len(content), name
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), name
    checksums = dict(
        reversed(line.split("  ", 1))
        for line in archive.read("manifest.sha256").decode().splitlines()
    )
    assert set(checksums) == {*listed, "manifest.json"}
    for name, digest in checksums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    assert manifest["period_end"] == _today().isoformat()
    assert manifest["versions"] == 2

    folder = f"policies/{governed_policy.id}-data-retention-policy"
    for label in ("1.0", "2.0"):
        for name in (
            "policy.pdf",
            "approvals.csv",
            "acknowledgements.csv",
            "executions.csv",
            "audit.csv",
        ):
            assert f"{folder}/v{label}/{name}" in listed

    first, second = (
        versions.get_version(governed_policy.id, "1.0"),
        versions.get_version(governed_policy.id, "2.0"),
    )
    approvals_v1 = _csv(archive, f"{folder}/v1.0/approvals.csv")
    # Who published and who approved are separate records, as on the page and in the PDF.
    [publication] = [row for row in approvals_v1 if row["record"] == "publication"]
    assert publication["decided_by"] == users["owner"].name
    assert publication["content_hash"] == first.content_hash
    frozen = [row for row in approvals_v1 if row["record"] == "version approver"]
    assert {row["decided_by"] for row in frozen} == {a["name"] for a in first.approvers}
    assert users["approver"].name in {row["decided_by"] for row in frozen}
    requests_v1 = [row for row in approvals_v1 if row["record"] == "approval request"]
    assert len(requests_v1) == 1  # the second review's request came after 1.0 was published
    assert requests_v1[0]["status"] == "approved"
    assert requests_v1[0]["comment"] == "Looks right"
    assert requests_v1[0]["content_hash"] == first.content_hash
    assert requests_v1[0]["matches_version"] == "yes"
    requests_v2 = [
        row
        for row in _csv(archive, f"{folder}/v2.0/approvals.csv")
        if row["record"] == "approval request"
    ]
    assert len(requests_v2) == 2
    assert {row["matches_version"] for row in requests_v2} == {"yes", "no"}

    roster = _csv(archive, f"{folder}/v2.0/acknowledgements.csv")
    assert {(row["email"], row["status"]) for row in roster} == {
        (users["viewer"].email, "acknowledged"),
        (users["approver"].email, "pending"),
    }
    assert _csv(archive, f"{folder}/v1.0/acknowledgements.csv") == []

    executions = _csv(archive, f"{folder}/v2.0/executions.csv")
    execution_ids = db.session.scalars(
        sa.select(Execution.id)
        .where(Execution.policy_id == governed_policy.id)
        .order_by(Execution.id)
    ).all()
    assert [int(row["id"]) for row in executions] == list(execution_ids)
    assert all("review (approval)" in row["steps"] for row in executions)

    audit = _csv(archive, f"{folder}/v2.0/audit.csv")
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "policy", AuditEvent.object_id == governed_policy.id)
        .order_by(AuditEvent.seq)
    ).all()
    assert [(int(row["seq"]), row["hash"], row["prev_hash"]) for row in audit] == [
        (event.seq, event.hash, event.prev_hash) for event in events
    ]
    assert "policy.created" in {row["action"] for row in audit}

    pdf = PdfReader(io.BytesIO(archive.read(f"{folder}/v2.0/policy.pdf")))
    pdf_text = "".join(pdf.pages[0].extract_text().split())
    assert "Version2.0" in pdf_text
    assert second.content_hash in pdf_text
    assert "Keepsevenyears." in pdf_text
    assert f"Publishedby{users['owner'].name}".replace(" ", "") in pdf_text


def test_versions_published_outside_the_period_are_left_out(as_role, users, db, no_evidence_folder):
    factories.make_policy(users["owner"], status="published", admin=users["admin"])
    yesterday = _today() - timedelta(days=1)
    _request(as_role("owner"), yesterday - timedelta(days=30), yesterday)
    pack = _pack(db)

    assert builder.build_pack(pack.id) == "done"

    pack = _pack(db, pack.id)
    assert (pack.items_total, pack.items_done, pack.percent) == (0, 0, 100)
    archive = zipfile.ZipFile(no_evidence_folder.parent / pack.file_path)
    assert sorted(archive.namelist()) == ["manifest.json", "manifest.sha256"]
    assert json.loads(archive.read("manifest.json"))["files"] == []


# ------------------------------------------------------------------ the build's guarantees


def test_a_pack_is_claimed_once_however_often_its_message_arrives(
    as_role, users, db, no_evidence_folder
):
    factories.make_policy(users["owner"], status="published", admin=users["admin"])
    _request(as_role("owner"), _today(), _today())
    pack = _pack(db)

    assert build_evidence_pack.call_local(pack.id) == "done"
    first = _pack(db, pack.id)
    digest, finished_at = first.sha256, first.finished_at
    assert build_evidence_pack.call_local(pack.id) == "skipped"

    again = _pack(db, pack.id)
    assert (again.sha256, again.finished_at) == (digest, finished_at)
    built = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "evidence_pack.built")
    ).all()
    assert len(built) == 1
    assert built[0].changes["sha256"] == digest


def test_a_failed_build_shows_its_error_and_build_again_rebuilds_from_scratch(
    as_role, users, db, no_evidence_folder
):
    factories.make_policy(users["owner"], status="published", admin=users["admin"])
    no_evidence_folder.write_text("a file where the folder should be")
    owner = as_role("owner")
    _request(owner, _today(), _today())
    pack = _pack(db)

    assert builder.build_pack(pack.id) == "failed"

    failed = _pack(db, pack.id)
    assert failed.status == "failed"
    assert "could not be built" in failed.error
    assert failed.file_path is None
    page = owner.get(f"/evidence/{pack.id}").get_data(as_text=True)
    assert "could not be built" in page
    assert "Build again" in page
    assert "Download ZIP" not in page

    no_evidence_folder.unlink()
    response = owner.submit(f"/evidence/{pack.id}/rebuild", {}, token_from=f"/evidence/{pack.id}")
    assert response.status_code == 303
    requeued = _pack(db, pack.id)
    assert (requeued.status, requeued.error) == ("queued", None)
    assert _pack_queued_messages(pack.id) >= 1

    consume()

    done = _pack(db, pack.id)
    assert done.status == "done", done.error
    assert (done.items_total, done.items_done) == (1, 1)
    assert (no_evidence_folder.parent / done.file_path).is_file()


def test_build_again_is_refused_for_a_finished_pack(as_role, users, db, no_evidence_folder):
    owner = as_role("owner")
    _request(owner, _today(), _today())
    pack = _pack(db)
    builder.build_pack(pack.id)

    response = owner.submit(f"/evidence/{pack.id}/rebuild", {}, token_from=f"/evidence/{pack.id}")

    assert response.status_code == 303
    assert _pack(db, pack.id).status == "done"
    assert "cannot be built again" in owner.get(f"/evidence/{pack.id}").get_data(as_text=True)


def test_build_again_sends_a_still_queued_pack_to_the_queue_once_more(as_role, users, db):
    owner = as_role("owner")
    _request(owner, _today(), _today())
    pack = _pack(db)
    assert _pack_queued_messages(pack.id) == 1

    owner.submit(f"/evidence/{pack.id}/rebuild", {}, token_from=f"/evidence/{pack.id}")

    assert _pack(db, pack.id).status == "queued"
    assert _pack_queued_messages(pack.id) == 2


# ------------------------------------------------------------------ the pages


def test_progress_fragment_polls_while_queued_and_stops_when_done(
    as_role, users, db, no_evidence_folder
):
    factories.make_policy(users["owner"], status="published", admin=users["admin"])
    owner = as_role("owner")
    _request(owner, _today(), _today())
    pack = _pack(db)
    fragment_url = f"/evidence/{pack.id}"

    queued = owner.get(fragment_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert queued.lstrip().startswith(f'<section id="pack-progress-{pack.id}"')
    assert 'hx-trigger="load delay:1s"' in queued
    assert '<progress id="pack-bar-' in queued and 'value="0"' in queued
    assert "<html" not in queued

    builder.build_pack(pack.id)
    done = owner.get(fragment_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in done
    assert 'value="100"' in done
    assert f'href="/evidence/{pack.id}/download"' in done
    assert _pack(db, pack.id).sha256 in done

    page = owner.get(fragment_url).get_data(as_text=True)
    assert "<html" in page and f"Evidence pack {pack.id}" in page


def test_list_shows_owners_their_own_packs_and_admins_all(as_role, users, db):
    _request(as_role("owner"), _today(), _today())
    mine = _pack(db)
    _request(as_role("other_owner"), _today() - timedelta(days=7), _today())
    theirs = _pack(db)

    owner_page = as_role("owner").get("/evidence").get_data(as_text=True)
    admin_page = as_role("admin").get("/evidence").get_data(as_text=True)

    assert f'id="pack-row-{mine.id}"' in owner_page
    assert f'id="pack-row-{theirs.id}"' not in owner_page
    assert f'id="pack-row-{mine.id}"' in admin_page and f'id="pack-row-{theirs.id}"' in admin_page


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_only_admins_and_owners_reach_evidence_packs(as_role, db, role):
    client = as_role(role)

    assert client.get("/evidence").status_code == 403
    assert client.post("/evidence", data={}).status_code in (400, 403)
    assert _pack(db) is None


def test_the_dashboard_links_evidence_packs_for_owners_and_admins_only(as_role, db):
    assert 'href="/evidence"' in as_role("owner").get("/dashboard").get_data(as_text=True)
    assert 'href="/evidence"' in as_role("admin").get("/dashboard").get_data(as_text=True)
    assert 'href="/evidence"' not in as_role("approver").get("/dashboard").get_data(as_text=True)
    assert as_role("viewer").get("/dashboard").status_code == 403


def test_request_without_csrf_token_is_refused(as_role, db):
    response = as_role("owner").post(
        "/evidence", data={"period_start": "2026-01-01", "period_end": "2026-01-31"}
    )

    assert response.status_code == 400
    assert _pack(db) is None


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("", "2026-01-31", "Enter the first day of the period."),
        ("2026-01-01", "", "Enter the last day of the period."),
        ("01/02/2026", "2026-01-31", "Enter the date as YYYY-MM-DD"),
        ("2026-02-01", "2026-01-31", "The period must start on or before its last day."),
        ("2020-01-30", "2026-01-31", "A pack covers at most 5 years"),
        ("2026-01-01", "tomorrow", "The period cannot end in the future"),
    ],
)
def test_bad_periods_are_refused_on_the_form(as_role, db, start, end, message):
    if end == "tomorrow":
        end = (_today() + timedelta(days=1)).isoformat()
        start = _today().isoformat()

    response = as_role("owner").submit("/evidence", {"period_start": start, "period_end": end})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _pack(db) is None


def test_a_five_year_period_ending_today_is_accepted(as_role, db):
    today = _today()
    start = today.replace(year=today.year - 5) if (today.month, today.day) != (2, 29) else None
    start = start or today.replace(year=today.year - 5, day=28)

    response = _request(as_role("owner"), start, today)

    assert response.status_code == 303
    assert _pack(db).period_start == start


# ------------------------------------------------------------------ download


def test_download_is_for_the_requester_and_admins_and_is_audited(
    as_role, users, db, no_evidence_folder
):
    factories.make_policy(users["owner"], status="published", admin=users["admin"])
    owner = as_role("owner")
    _request(owner, _today(), _today())
    pack = _pack(db)
    url = f"/evidence/{pack.id}/download"
    assert owner.get(url).status_code == 404  # nothing to download while queued
    builder.build_pack(pack.id)
    pack = _pack(db, pack.id)

    response = owner.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert hashlib.sha256(response.data).hexdigest() == pack.sha256
    assert as_role("admin").get(url).status_code == 200
    assert as_role("other_owner").get(url).status_code == 404
    assert as_role("other_owner").get(f"/evidence/{pack.id}").status_code == 404
    # Someone else's pack does not exist for them, whatever their roles.
    assert as_role("viewer").get(url).status_code == 404
    assert as_role("approver").get(f"/evidence/{pack.id}").status_code == 404

    db.session.expire_all()
    trail = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.actor_id)
        .where(AuditEvent.object_type == "evidence_pack", AuditEvent.object_id == pack.id)
        .order_by(AuditEvent.seq)
    ).all()
    assert [tuple(row) for row in trail] == [
        ("evidence_pack.requested", users["owner"].id),
        ("evidence_pack.built", None),
        ("evidence_pack.downloaded", users["owner"].id),
        ("evidence_pack.downloaded", users["admin"].id),
    ]
