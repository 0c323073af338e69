"""Who may read an evidence pack: an admin, or whoever asked for it."""

from __future__ import annotations

import sqlalchemy as sa

from governance.auth.models import User
from governance.evidence.models import EvidencePack


def can_read_evidence_pack(user: User, pack: EvidencePack) -> bool:
    return user.is_admin or pack.requested_by_id == user.id


def readable_evidence_packs(user: User) -> sa.ColumnElement[bool] | None:
    return None if user.is_admin else EvidencePack.requested_by_id == user.id
