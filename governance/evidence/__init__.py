"""Evidence packs: a policy's history, approvals and acknowledgements, exported for auditors."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Who may open a link to an evidence pack."""
    from governance import visibility
    from governance.evidence.models import EvidencePack
    from governance.evidence.visibility import can_read_evidence_pack

    visibility.register_path_object("pack_id", EvidencePack, can_read_evidence_pack)
