"""Creating, listing, revoking and checking personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from governance.audit.service import record_event
from governance.auth.models import ApiToken, User
from governance.errors import DomainError, NotFound
from governance.extensions import db
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

TOKEN_PREFIX = "stw_"  # noqa: S105 - a marker that makes a leaked token easy to recognise
NAME_MAX = 80
MAX_ACTIVE_TOKENS = 50
# Far enough for anyone who wants a date (no date at all means no expiry), and far from the
# year 9999, past which the end of the expiry day cannot even be computed.
MAX_EXPIRY_AHEAD = timedelta(days=10 * 366)
# A token's use is written at most this often: not a database write per API request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str  # the only time the whole token exists outside the caller's hands


@unit_of_work()
def create_token(user: User, *, name: str, expires_on: date | None, today: date) -> NewToken:
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name, e.g. “CI pipeline”.", field="name")
    if len(name) > NAME_MAX:
        raise DomainError(f"The name is at most {NAME_MAX} characters.", field="name")
    if not name.isprintable():
        # Tabs, newlines, NUL (which PostgreSQL cannot even store) have no place in a label.
        raise DomainError("The name is one line of ordinary characters.", field="name")
    check_expiry(expires_on, today)
    if count_active_tokens(user) >= MAX_ACTIVE_TOKENS:
        raise DomainError(
            f"You have {MAX_ACTIVE_TOKENS} active tokens; revoke one first.", field="name"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_hash(token),
        prefix=token[:12],
        # The token works through the whole expiry day (UTC).
        expires_at=datetime.combine(expires_on + timedelta(days=1), time(), UTC)
        if expires_on
        else None,
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        actor_id=user.id,
        action="api_token.created",
        object_type="user",
        object_id=user.id,
        summary=f"API token “{name}” created ({row.prefix}…)",
        changes={"expires_on": expires_on.isoformat() if expires_on else None},
    )
    return NewToken(row.id, token)


def check_expiry(expires_on: date | None, today: date) -> None:
    """The expiry day must lie ahead (the token works through it, UTC), at most ten years."""
    if expires_on is None:
        return
    if expires_on <= today:
        raise DomainError("The expiry date must be in the future.", field="expires_on")
    if expires_on > today + MAX_EXPIRY_AHEAD:
        raise DomainError(
            "The expiry date is at most ten years ahead; leave it empty for a token that "
            "does not expire.",
            field="expires_on",
        )


def _is_active(user_id: int, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        ApiToken.user_id == user_id,
        ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def count_active_tokens(user: User) -> int:
    return db.session.execute(
        sa.select(sa.func.count()).select_from(ApiToken).where(_is_active(user.id, utcnow()))
    ).scalar_one()


def list_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too, so they can be told)."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def find_token(user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens; someone else's is not found (nor told apart from none)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("There is no such API token among yours.")
    return row


@unit_of_work()
def revoke_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens at once; revoking it again changes nothing."""
    row = find_token(user, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event(
            actor_id=user.id,
            action="api_token.revoked",
            object_type="user",
            object_id=user.id,
            summary=f"API token “{row.name}” revoked ({row.prefix}…)",
        )


def authenticate(token: str) -> tuple[User, ApiToken] | None:
    """The enabled user behind a live token, or None (unknown, revoked, expired, disabled)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = utcnow()
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.state(now) != "active" or not row.user.is_enabled:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        with unit_of_work():
            db.session.execute(
                sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
            )
    return row.user, row
