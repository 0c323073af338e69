"""The Huey task that builds an evidence pack. It carries only the id; the row says the rest."""

from __future__ import annotations

from governance.evidence import pack as builder
from governance.evidence.models import EvidencePack
from governance.extensions import db
from governance.queue import JobFailed, task


# A fixed name (a consumer drops messages whose name it does not know). No Huey retries: a
# failed pack shows its error on its page, where "Build again" sends it once more.
@task(name="steward.build_evidence_pack", retries=0)
def build_evidence_pack(pack_id: int) -> str:
    outcome = builder.build_pack(pack_id)
    if outcome == "failed":
        pack = db.session.get_one(EvidencePack, pack_id)
        raise JobFailed(pack.error or "The evidence pack could not be built.")
    return outcome
