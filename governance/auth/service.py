"""Accounts: passwords, login sessions, users, roles and groups. Every change is audited."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.orm.interfaces import LoaderOption
from werkzeug.security import check_password_hash, generate_password_hash

from governance.audit.service import diff_fields, record_event
from governance.auth import passwords
from governance.auth.models import ROLES, Group, User, UserRole, UserSession, group_members
from governance.dbutil import rowcount
from governance.errors import DomainError, NotAllowed
from governance.extensions import db
from governance.lookup import get_or_raise, name_taken
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

# Checked when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("steward-timing-equaliser")


def _with_roles_and_groups() -> tuple[LoaderOption, ...]:
    # Built per query, not at import: a loader option configures every mapper, and at import
    # time not every model module need have been imported yet.
    return (so.selectinload(User.role_rows), so.selectinload(User.groups))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def checked_password(password: str, *, email: str, name: str) -> str:
    """The password policy (auth/passwords.py) with this deployment's minimum length."""
    return passwords.check_new_password(
        password, email=email, name=name, min_length=current_app.config["PASSWORD_MIN_LENGTH"]
    )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str) -> str:
    """A well-formed address, normalised. No DNS lookup: Steward may run without a network."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise DomainError(f"Enter a valid email address ({error}).", field="email") from error
    return normalise_email(result.normalized)


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None whatever was wrong (unknown, wrong, deactivated)."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        _password_matches(_DUMMY_HASH, password)
        return None
    if not _password_matches(user.password_hash, password) or not user.is_enabled:
        return None
    return user


def _password_matches(password_hash: str, password: str) -> bool:
    """New passwords are hashed NFKC-normalised; a hash from before that took the text as typed.

    An unknown email goes through here too, so it costs as many hashes as a known one.
    """
    normalised = passwords.normalise(password)
    if check_password_hash(password_hash, normalised):
        return True
    return normalised != password and check_password_hash(password_hash, password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@unit_of_work()
def start_session(user: User, ip_address: str | None, user_agent: str | None) -> str:
    """Record a new login session and return its secret token (kept in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            ip_address=(ip_address or "")[:64],
            user_agent=(user_agent or "")[:255],
        )
    )
    record_event(
        actor_id=user.id,
        action="user.login",
        object_type="user",
        object_id=user.id,
        summary=f"{user.email} logged in",
    )
    return token


# last_seen_at is written at most this often: the idle timeout is that much coarse, and a
# page with many htmx fragments does not write the session row on every one of them.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class SessionExpired(Exception):
    """The session was live but outlived its idle timeout or its absolute lifetime."""


def load_session_user(
    user_id: str,
    token: str | None,
    *,
    idle: timedelta,
    lifetime: timedelta,
    is_activity: bool = True,
) -> User | None:
    """The user behind a live session, or None if it ended or the user is deactivated.

    A session idle longer than `idle`, or older than `lifetime`, is ended here on the server
    (whatever the cookie says) and SessionExpired is raised, so the page can say why. A
    request that is not the user's activity (a background poll) does not reset the idle clock.
    """
    if not token or not user_id.isdigit():
        return None
    now = utcnow()
    live = sa.and_(
        User.id == int(user_id),
        User.is_enabled.is_(True),
        UserSession.token_hash == _token_hash(token),
        UserSession.revoked_at.is_(None),
    )
    row = db.session.execute(
        sa.select(User, UserSession.id, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            live,
            UserSession.created_at > now - lifetime,
            UserSession.last_seen_at > now - idle,
        )
        # Every page checks roles and shows groups: load them with the user.
        .options(*_with_roles_and_groups())
    ).first()
    if row is None:
        _end_if_expired(live, now)
        return None
    user, session_id, last_seen_at = row
    if is_activity and now - last_seen_at >= LAST_SEEN_RESOLUTION:
        with unit_of_work():
            db.session.execute(
                sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
            )
    return user


def _end_if_expired(live: sa.ColumnElement[bool], now) -> None:
    """The session matched every rule but the time limits: end it, and say it expired."""
    found = db.session.execute(
        sa.select(UserSession.id, User.id, User.email)
        .join(User, UserSession.user_id == User.id)
        .where(live)
    ).first()
    if found is None:
        return
    session_id, user_id, email = found
    with unit_of_work():
        ended = db.session.execute(
            sa.update(UserSession)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if rowcount(ended) != 1:  # another request of the same session ended it first
            return
        record_event(
            actor_id=user_id,
            action="user.session_expired",
            object_type="user",
            object_id=user_id,
            summary=f"{email}'s session expired",
        )
    # Raised after the commit: the session stays ended although the request is refused.
    raise SessionExpired


@unit_of_work()
def end_session(token: str | None, actor: User | None = None) -> None:
    if not token:
        return
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if actor is not None:
        record_event(
            actor_id=actor.id,
            action="user.logout",
            object_type="user",
            object_id=actor.id,
            summary=f"{actor.email} logged out",
        )


def _end_all_sessions_in_transaction(user_id: int) -> None:
    """Revoke every session of a user, as part of the caller's change."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@unit_of_work()
def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a user's own password; every existing session of theirs ends."""
    if not _password_matches(user.password_hash, current_password):
        raise DomainError("The current password is not correct.", field="current_password")
    try:
        new_password = checked_password(new_password, email=user.email, name=user.name)
    except DomainError as error:
        raise DomainError(error.message, field="new_password") from None
    user.password_hash = hash_password(new_password)
    _end_all_sessions_in_transaction(user.id)
    record_event(
        actor_id=user.id,
        action="user.password_changed",
        object_type="user",
        object_id=user.id,
        summary=f"{user.email} changed their password; all sessions ended",
    )


def _checked_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise DomainError(f"Unknown role: {', '.join(unknown)}.", field="roles")
    if not roles:
        raise DomainError("Give the user at least one role.", field="roles")
    return roles


def _checked_groups(group_ids: Iterable[int]) -> list[Group]:
    ids = sorted(set(group_ids))
    groups = list(db.session.scalars(sa.select(Group).where(Group.id.in_(ids)))) if ids else []
    if len(groups) != len(ids):
        raise DomainError("One of the chosen groups does not exist.", field="groups")
    return groups


def _user_snapshot(user: User) -> dict:
    return {
        "name": user.name,
        "email": user.email,
        "roles": sorted(user.roles),
        "groups": sorted(group.name for group in user.groups),
    }


@unit_of_work()
def create_user(
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[str],
    group_ids: Iterable[int] = (),
    actor: User | None,
) -> int:
    email = checked_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise DomainError("A user with this email already exists.", field="email")
    password = checked_password(password, email=email, name=name)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    user.role_rows = [UserRole(role=role) for role in _checked_roles(roles)]
    user.groups = _checked_groups(group_ids)
    db.session.add(user)
    db.session.flush()
    record_event(
        actor_id=actor.id if actor else None,
        action="user.created",
        object_type="user",
        object_id=user.id,
        summary=f"User {email} created",
        changes=diff_fields({}, _user_snapshot(user)),
    )
    return user.id


def get_user(user_id: int) -> User:
    return get_or_raise(User, user_id, "No such user.")


@unit_of_work()
def update_user(
    user_id: int, *, name: str, roles: Iterable[str], group_ids: Iterable[int], actor: User
) -> None:
    user = get_user(user_id)
    roles = _checked_roles(roles)
    if user.id == actor.id and "admin" not in roles:
        raise NotAllowed("You cannot remove your own admin role.", field="roles")
    before = _user_snapshot(user)
    user.name = name.strip()
    kept = {row.role: row for row in user.role_rows}
    user.role_rows = [kept.get(role) or UserRole(role=role) for role in roles]
    user.groups = _checked_groups(group_ids)
    record_event(
        actor_id=actor.id,
        action="user.updated",
        object_type="user",
        object_id=user.id,
        summary=f"User {user.email} updated",
        changes=diff_fields(before, _user_snapshot(user)),
    )


@unit_of_work()
def set_user_enabled(user_id: int, enabled: bool, *, actor: User) -> None:
    """Deactivate (ending every session) or reactivate a user; nothing they did is deleted."""
    user = get_user(user_id)
    if user.id == actor.id and not enabled:
        raise NotAllowed("You cannot deactivate your own account.")
    if user.is_enabled == enabled:
        return
    user.is_enabled = enabled
    user.deactivated_at = None if enabled else utcnow()
    if not enabled:
        _end_all_sessions_in_transaction(user.id)
    record_event(
        actor_id=actor.id,
        action="user.reactivated" if enabled else "user.deactivated",
        object_type="user",
        object_id=user.id,
        summary=f"User {user.email} {'reactivated' if enabled else 'deactivated'}",
    )


def _check_group_name(name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise DomainError("Give the group a name.", field="name")
    if name_taken(Group, name, exclude_id):
        raise DomainError("A group with this name already exists.", field="name")
    return name


@unit_of_work()
def create_group(name: str, *, actor: User) -> int:
    group = Group(name=_check_group_name(name))
    db.session.add(group)
    db.session.flush()
    record_event(
        actor_id=actor.id,
        action="group.created",
        object_type="group",
        object_id=group.id,
        summary=f"Group {group.name} created",
    )
    return group.id


def get_group(group_id: int) -> Group:
    return get_or_raise(Group, group_id, "No such group.")


@unit_of_work()
def update_group(group_id: int, *, name: str, member_ids: Iterable[int], actor: User) -> None:
    group = get_group(group_id)
    before = {"name": group.name, "members": sorted(member.email for member in group.members)}
    group.name = _check_group_name(name, exclude_id=group.id)
    ids = sorted(set(member_ids))
    members = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []
    if len(members) != len(ids):
        raise DomainError("One of the chosen members does not exist.", field="members")
    group.members = members
    after = {"name": group.name, "members": sorted(member.email for member in members)}
    record_event(
        actor_id=actor.id,
        action="group.updated",
        object_type="group",
        object_id=group.id,
        summary=f"Group {group.name} updated",
        changes=diff_fields(before, after),
    )


def users_with_role(role: str) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole)
            .where(UserRole.role == role, User.is_enabled.is_(True))
            .order_by(User.name)
        )
    )


def list_users() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .order_by(User.is_enabled.desc(), User.name)
            .options(*_with_roles_and_groups())
        )
    )


def group_ids_of(user: User) -> list[int]:
    """The ids of the groups this user belongs to (one query, whatever is loaded)."""
    return list(
        db.session.scalars(
            sa.select(group_members.c.group_id).where(group_members.c.user_id == user.id)
        )
    )


def list_groups() -> list[Group]:
    return list(db.session.scalars(sa.select(Group).order_by(Group.name)))


def enabled_user_ids(user_ids: Iterable[int] = (), group_ids: Iterable[int] = ()) -> list[int]:
    """The enabled users among these users and the members of these groups, in one query."""
    user_ids, group_ids = list(user_ids), list(group_ids)
    if not user_ids and not group_ids:
        return []
    members = sa.select(group_members.c.user_id).where(group_members.c.group_id.in_(group_ids))
    statement = sa.select(User.id).where(
        User.is_enabled.is_(True), sa.or_(User.id.in_(user_ids), User.id.in_(members))
    )
    return sorted(db.session.scalars(statement))
