"""Building an evidence pack: one ZIP of the period's published versions (PDF, approvals,
acknowledgement roster, executions, audit events) and a manifest of every file's SHA-256.

build_pack() is the whole job, called by the Huey task and directly by tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.approvals.models import ApprovalRequest
from governance.audit import export as audit_export
from governance.audit.chain import canonical_json, timestamp_text
from governance.audit.models import AuditEvent
from governance.audit.service import record_event
from governance.auth.models import User
from governance.csvfile import csv_text
from governance.dbutil import rowcount
from governance.engine.models import Execution
from governance.evidence.models import EvidencePack
from governance.evidence.pdf import render_version_pdf, slugify
from governance.extensions import db
from governance.policies.models import Policy, PolicyRevision
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

EVIDENCE_FOLDER = "evidence"
APPROVAL_COLUMNS = (
    "record",
    "request_id",
    "execution_id",
    "assignee",
    "status",
    "decided_by",
    "decided_at",
    "comment",
    "content_hash",
    "matches_version",
)
ACK_COLUMNS = (
    "campaign_id",
    "campaign_version",
    "audience",
    "due_on",
    "user",
    "email",
    "status",
    "acknowledged_at",
    "acknowledged_version",
    "acknowledged_content_hash",
)
EXECUTION_COLUMNS = ("id", "workflow", "trigger", "status", "created", "finished", "steps")
# The audit trail's own export columns, with the link to the previous event's hash so the
# chain can be checked from the pack alone.
AUDIT_COLUMNS = (*audit_export.COLUMNS[:-1], "prev_hash", "hash")


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str


def evidence_dir() -> Path:
    return Path(current_app.instance_path) / EVIDENCE_FOLDER


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _period(pack: EvidencePack) -> tuple[datetime, datetime]:
    """[start of the first day, start of the day after the last), in UTC."""
    return _start_of(pack.period_start), _start_of(pack.period_end + timedelta(days=1))


def _text(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


# ------------------------------------------------------------------ what goes in


def published_in_period(since: datetime, until: datetime) -> list[PolicyRevision]:
    return list(
        db.session.scalars(
            sa.select(PolicyRevision)
            .where(
                PolicyRevision.version_label.is_not(None),
                PolicyRevision.published_at >= since,
                PolicyRevision.published_at < until,
            )
            .order_by(PolicyRevision.published_at, PolicyRevision.id)
        )
    )


def approval_rows(version: PolicyRevision) -> list[list[Any]]:
    """Who published the version, its frozen approvers, then every approval request of the
    policy's executions created up to its publication (whatever its outcome), oldest first."""
    publication = [
        "publication",
        "",
        "",
        "",
        "published",
        version.published_by_name,
        _text(version.published_at),
        "",
        version.content_hash,
        "yes",
    ]
    rows: list[list[Any]] = [publication] + [
        [
            "version approver",
            "",
            "",
            "",
            "approved",
            approver.get("name", ""),
            approver.get("at") or "",
            approver.get("via", ""),
            version.content_hash,
            "yes",
        ]
        for approver in version.approvers or []
    ]
    requests = db.session.scalars(
        sa.select(ApprovalRequest)
        .join(Execution, Execution.id == ApprovalRequest.execution_id)
        .where(
            Execution.policy_id == version.policy_id,
            ApprovalRequest.created_at <= version.published_at,
        )
        .options(
            so.joinedload(ApprovalRequest.assignee_user),
            so.joinedload(ApprovalRequest.assignee_group),
            so.joinedload(ApprovalRequest.decided_by),
        )
        .order_by(ApprovalRequest.created_at, ApprovalRequest.id)
    )
    for request in requests:
        rows.append(
            [
                "approval request",
                request.id,
                request.execution_id,
                request.assignee_label,
                request.status,
                request.decided_by.name if request.decided_by else "",
                _text(request.decided_at),
                request.comment or "",
                request.content_hash or "",
                "yes" if request.content_hash == version.content_hash else "no",
            ]
        )
    return rows


def acknowledgement_rows(version: PolicyRevision) -> list[list[Any]]:
    """The roster of every acknowledgement campaign opened for this version."""
    result = db.session.execute(
        sa.select(Acknowledgement, AckCampaign, User)
        .join(AckCampaign, AckCampaign.id == Acknowledgement.campaign_id)
        .join(User, User.id == Acknowledgement.user_id)
        .where(AckCampaign.revision_id == version.id)
        .order_by(AckCampaign.id, User.name, User.id)
    )
    return [
        [
            campaign.id,
            campaign.version_label,
            campaign.audience,
            campaign.due_on.isoformat(),
            user.name,
            user.email,
            "acknowledged" if ack.acknowledged_at else "pending",
            _text(ack.acknowledged_at),
            ack.version_label or "",
            ack.content_hash or "",
        ]
        for ack, campaign, user in result
    ]


def execution_rows(policy_id: int, since: datetime, until: datetime) -> list[list[Any]]:
    executions = db.session.scalars(
        sa.select(Execution)
        .where(
            Execution.policy_id == policy_id,
            Execution.created_at >= since,
            Execution.created_at < until,
        )
        .options(so.selectinload(Execution.step_runs))
        .order_by(Execution.created_at, Execution.id)
    )
    return [
        [
            execution.id,
            execution.workflow.name,
            execution.trigger_type,
            execution.status,
            _text(execution.created_at),
            _text(execution.finished_at),
            "; ".join(
                f"{run.step_key} ({run.step_type}): {run.status}" for run in execution.step_runs
            ),
        ]
        for execution in executions
    ]


def audit_rows(policy_id: int, since: datetime, until: datetime) -> list[list[Any]]:
    """The policy's audit events in chain order, with both links of the hash chain, so a
    reader can check each event against the one before it."""
    result = db.session.execute(
        sa.select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == "policy",
            AuditEvent.object_id == policy_id,
            AuditEvent.created_at >= since,
            AuditEvent.created_at < until,
        )
        .order_by(AuditEvent.seq)
    )
    return [
        [
            event.seq,
            timestamp_text(event.created_at),
            email or "",
            event.action,
            event.object_type,
            event.object_id,
            event.summary,
            canonical_json(event.changes),
            event.prev_hash,
            event.hash,
        ]
        for event, email in result
    ]


# ------------------------------------------------------------------ the build


def claim_pack(pack_id: int) -> bool:
    """queued -> running in one conditional UPDATE: of two consumers given the same pack, one
    builds it and the other finds nothing to claim. Committed before any work starts."""
    with unit_of_work():
        result = db.session.execute(
            sa.update(EvidencePack)
            .where(EvidencePack.id == pack_id, EvidencePack.status == "queued")
            .values(
                status="running",
                items_total=0,
                items_done=0,
                error=None,
                file_path=None,
                sha256=None,
                size_bytes=None,
                finished_at=None,
            )
        )
    return rowcount(result) == 1


def build_pack(pack_id: int) -> str:
    """Claim and build one pack from scratch: "done", "failed" or "skipped" (not queued)."""
    if not claim_pack(pack_id):
        return "skipped"
    pack = db.session.get_one(EvidencePack, pack_id)
    try:
        relative_path, digest, size, versions = _write_zip(pack)
    except Exception as error:
        # The job's own error handler: whatever the failed build left unfinished in the
        # session (a failed statement, a progress count) goes before the failure is written.
        db.session.rollback()
        log.exception("Evidence pack %s failed", pack_id)
        _mark_failed(pack_id, f"The pack could not be built: {type(error).__name__}: {error}")
        return "failed"
    with unit_of_work():
        pack.status = "done"
        pack.file_path = relative_path
        pack.sha256 = digest
        pack.size_bytes = size
        pack.finished_at = utcnow()
        record_event(
            actor_id=None,
            action="evidence_pack.built",
            object_type="evidence_pack",
            object_id=pack.id,
            summary=f"Evidence pack built: {versions} version(s), SHA-256 {digest}",
            changes={"sha256": digest, "size_bytes": size, "versions": versions},
        )
    return "done"


def _mark_failed(pack_id: int, message: str) -> None:
    with unit_of_work():
        db.session.execute(
            sa.update(EvidencePack)
            .where(EvidencePack.id == pack_id)
            .values(status="failed", error=message[:2000], finished_at=utcnow())
        )


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_zip(pack: EvidencePack) -> tuple[str, str, int, int]:
    """Write the ZIP beside its final name and rename it into place (atomic: a reader sees
    the old file or the whole new one). Returns (path under instance/, sha256, size, versions)."""
    since, until = _period(pack)
    with unit_of_work():
        versions = published_in_period(since, until)
        pack.items_total = len(versions)

    directory = evidence_dir()
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"evidence-pack-{pack.id}.zip"
    handle, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".evidence-pack-{pack.id}-", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            archive = _Archive(zf)
            for version in versions:
                _add_version(archive, version, since, until)
                with unit_of_work():  # the page's progress bar reads this
                    pack.items_done += 1
            archive.add("manifest.json", _manifest(pack, archive.entries))
            # `sha256sum -c manifest.sha256` checks every file, manifest.json included.
            zf.writestr(
                "manifest.sha256",
                "".join(f"{entry.sha256}  {entry.path}\n" for entry in archive.entries),
            )
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    relative = f"{EVIDENCE_FOLDER}/{final.name}"
    return relative, _sha256_of_file(final), final.stat().st_size, len(versions)


class _Archive:
    """The ZIP being written, and the manifest entry of every file added to it."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.entries: list[ManifestEntry] = []

    def add(self, path: str, data: bytes) -> None:
        self.zf.writestr(path, data)
        self.entries.append(ManifestEntry(path, len(data), hashlib.sha256(data).hexdigest()))


def _add_version(
    archive: _Archive, version: PolicyRevision, since: datetime, until: datetime
) -> None:
    policy = db.session.get_one(Policy, version.policy_id)
    folder = f"policies/{policy.id}-{slugify(policy.title)}/v{version.version_label}"
    archive.add(f"{folder}/policy.pdf", render_version_pdf(policy, version))
    archive.add(f"{folder}/approvals.csv", _csv(APPROVAL_COLUMNS, approval_rows(version)))
    archive.add(f"{folder}/acknowledgements.csv", _csv(ACK_COLUMNS, acknowledgement_rows(version)))
    archive.add(
        f"{folder}/executions.csv",
        _csv(EXECUTION_COLUMNS, execution_rows(policy.id, since, until)),
    )
    archive.add(f"{folder}/audit.csv", _csv(AUDIT_COLUMNS, audit_rows(policy.id, since, until)))


def _csv(columns, rows) -> bytes:
    return csv_text(columns, rows).encode("utf-8")


def _manifest(pack: EvidencePack, entries: list[ManifestEntry]) -> bytes:
    document = {
        "pack_id": pack.id,
        "period_start": pack.period_start.isoformat(),
        "period_end": pack.period_end.isoformat(),
        "generated_at": _text(utcnow()),
        "requested_by": pack.requested_by.email if pack.requested_by else None,
        "versions": pack.items_total,
        "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in entries],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
