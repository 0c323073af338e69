"""Evidence packs: who may ask for one, the period rules, the request (audited, then sent to
the queue after commit), "Build again", and the audited download."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.errors import Conflict, DomainError, NotFound
from governance.evidence import visibility
from governance.evidence.models import EvidencePack
from governance.extensions import db
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

MAX_PERIOD_YEARS = 5
REQUEST_ROLES = ("admin", "owner")
# A pack in one of these states can be sent to the consumers again ("Build again").
REBUILDABLE_STATUSES = ("queued", "failed")


def can_request(user: User) -> bool:
    return user.has_role(*REQUEST_ROLES)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def check_period(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The period's rules, each refusal naming the field it is about; the period that passes."""
    if start is None:
        raise DomainError("Enter the first day of the period.", field="period_start")
    if end is None:
        raise DomainError("Enter the last day of the period.", field="period_end")
    if end > today:
        raise DomainError(
            f"The period cannot end in the future; the latest end is today, {today:%Y-%m-%d}.",
            field="period_end",
        )
    if start > end:
        raise DomainError("The period must start on or before its last day.", field="period_start")
    if start < _years_before(end, MAX_PERIOD_YEARS):
        raise DomainError(
            f"A pack covers at most {MAX_PERIOD_YEARS} years; choose a later start.",
            field="period_start",
        )
    return start, end


def request_pack(user: User, start: date | None, end: date | None, *, today: date) -> int:
    """A new queued pack for this period, committed with its audit event, then sent to the
    consumers. If the queue is unreachable the pack stays queued ("Build again" sends it)."""
    with unit_of_work():
        if not can_request(user):
            raise DomainError("Only admins and policy owners can build evidence packs.")
        start, end = check_period(start, end, today=today)
        pack = EvidencePack(
            requested_by_id=user.id, period_start=start, period_end=end, status="queued"
        )
        db.session.add(pack)
        db.session.flush()
        record_event(
            actor_id=user.id,
            action="evidence_pack.requested",
            object_type="evidence_pack",
            object_id=pack.id,
            summary=f"Evidence pack requested for {start:%Y-%m-%d} to {end:%Y-%m-%d}",
            changes={"period_start": start.isoformat(), "period_end": end.isoformat()},
        )
    send_to_queue(pack.id)
    return pack.id


def send_to_queue(pack_id: int) -> bool:
    """Hand the pack to Huey (after its row is committed). Never raises: the row stays queued."""
    from governance.evidence.jobs import build_evidence_pack

    try:
        build_evidence_pack(pack_id)
    except Exception:  # the queue is down: the pack stays queued, "Build again" re-sends it
        log.warning("Could not enqueue evidence pack %s; it stays queued", pack_id, exc_info=True)
        return False
    return True


def rebuild_pack(pack_id: int, user: User) -> None:
    """ "Build again": a queued or failed pack goes (back) to queued and is sent again."""
    with unit_of_work():
        pack = get_pack_for(pack_id, user)
        result = db.session.execute(
            sa.update(EvidencePack)
            .where(EvidencePack.id == pack.id, EvidencePack.status.in_(REBUILDABLE_STATUSES))
            .values(status="queued", items_done=0, error=None)
        )
        if rowcount(result) != 1:
            raise Conflict("This pack is being built or is already done; it cannot be built again.")
        record_event(
            actor_id=user.id,
            action="evidence_pack.rebuild_requested",
            object_type="evidence_pack",
            object_id=pack.id,
            summary="Evidence pack sent to be built again",
        )
    send_to_queue(pack.id)


def packs_statement(user: User) -> sa.Select:
    """The packs this user sees, newest first: their own, or every pack for admins."""
    statement = sa.select(EvidencePack).order_by(
        EvidencePack.created_at.desc(), EvidencePack.id.desc()
    )
    readable = visibility.readable_evidence_packs(user)
    return statement if readable is None else statement.where(readable)


def get_pack_for(pack_id: int, user: User) -> EvidencePack:
    """The pack if this user asked for it or is an admin; otherwise 404 (never reveal it)."""
    pack = db.session.get(EvidencePack, pack_id)
    if pack is None or not visibility.can_read_evidence_pack(user, pack):
        raise NotFound("No such evidence pack.")
    return pack


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str


@unit_of_work()
def download_pack(pack_id: int, user: User) -> Download:
    """The finished ZIP to send, its download recorded in the audit trail."""
    pack = get_pack_for(pack_id, user)
    path = Path(current_app.instance_path) / pack.file_path if pack.file_path else None
    if pack.status != "done" or path is None or not path.is_file():
        raise NotFound("This evidence pack has no file to download yet.")
    record_event(
        actor_id=user.id,
        action="evidence_pack.downloaded",
        object_type="evidence_pack",
        object_id=pack.id,
        summary=f"Evidence pack downloaded (SHA-256 {pack.sha256})",
        changes={"sha256": pack.sha256, "size_bytes": pack.size_bytes},
    )
    filename = f"steward-evidence-{pack.period_start:%Y%m%d}-{pack.period_end:%Y%m%d}-{pack.id}.zip"
    return Download(path=path, filename=filename)
