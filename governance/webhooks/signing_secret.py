"""Which secrets sign a workflow's deliveries: its signing secret, and during a rotation's grace
period the one it replaced. Read from the workflow row it is given; reading and rotating a
workflow's secret (audited) are the workflow's own (workflows/signing_secret.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from governance.timeutil import utcnow


class HasSigningSecrets(Protocol):
    """A workflow as signing reads it: webhooks does not import the workflow model."""

    @property
    def signing_secret(self) -> str: ...

    @property
    def previous_signing_secret(self) -> str | None: ...

    @property
    def previous_signing_secret_expires_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class SigningSecret:
    secret: str
    # During a rotation's grace period: the secret before it, still signing until then.
    previous_secret: str | None
    previous_expires_at: datetime | None


def _in_grace(workflow: HasSigningSecrets, now: datetime) -> bool:
    expires = workflow.previous_signing_secret_expires_at
    return bool(workflow.previous_signing_secret) and expires is not None and expires > now


def secrets_in_use(workflow: HasSigningSecrets, now: datetime | None = None) -> list[str]:
    """What a delivery is signed with now: the secret, and the previous one during grace."""
    previous = workflow.previous_signing_secret
    if previous and _in_grace(workflow, now or utcnow()):
        return [workflow.signing_secret, previous]
    return [workflow.signing_secret]


def grace_until(workflow: HasSigningSecrets) -> datetime | None:
    """When the previous secret stops signing, while it still does."""
    return workflow.previous_signing_secret_expires_at if _in_grace(workflow, utcnow()) else None


def known_secrets(workflow: HasSigningSecrets | None) -> frozenset[str]:
    """Every secret of the workflow, expired previous one included, for hiding in output."""
    if workflow is None:
        return frozenset()
    return frozenset(s for s in (workflow.signing_secret, workflow.previous_signing_secret) if s)


def current_signing_secret(workflow: HasSigningSecrets) -> SigningSecret:
    """The secret as an admin gives it to a receiver: with the previous one during grace."""
    if _in_grace(workflow, utcnow()):
        return SigningSecret(
            workflow.signing_secret,
            workflow.previous_signing_secret,
            workflow.previous_signing_secret_expires_at,
        )
    return SigningSecret(workflow.signing_secret, None, None)
