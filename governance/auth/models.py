"""Users with roles and groups, the server-side record of their login sessions, and their
personal API tokens (only a hash of each is stored; the token itself is shown once)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from governance.extensions import Model, db
from governance.timeutil import UTCDateTime, utcnow

ROLES = ("admin", "owner", "approver", "viewer")
# How a user hears about things: every notification by email too, one email a day, or only
# in the application.
NOTIFY_CHOICES = {
    "email": "Email for every notification",
    "digest": "One daily digest email",
    "in_app": "In Steward only, no email",
}
# The colour scheme of the pages: the system's (light or dark, as the browser reports it) or one
# chosen for this account.
THEME_CHOICES = {
    "system": "Follow the system",
    "light": "Light",
    "dark": "Dark",
}
ROLE_LABELS = {
    "admin": "Administrator",
    "owner": "Policy owner",
    "approver": "Approver",
    "viewer": "Viewer",
}

group_members = sa.Table(
    "group_members",
    db.metadata,
    sa.Column("group_id", sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class UserRole(Model):
    __tablename__ = "user_roles"
    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLES), name="known_role"),)

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(sa.column("notify_by").in_(NOTIFY_CHOICES), name="known_notify_by"),
        sa.CheckConstraint(sa.column("theme").in_(THEME_CHOICES), name="known_theme"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    is_enabled: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    deactivated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    notify_by: so.Mapped[str] = so.mapped_column(
        sa.String(10), default="email", server_default="email"
    )
    digest_sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    theme: so.Mapped[str] = so.mapped_column(
        sa.String(10), default="system", server_default="system"
    )
    # An IANA zone name such as "Europe/Berlin"; None: the zone the browser reports.
    time_zone: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    role_rows: so.Mapped[list[UserRole]] = so.relationship(cascade="all, delete-orphan")
    groups: so.Mapped[list[Group]] = so.relationship(
        secondary=group_members, back_populates="members", order_by="Group.name"
    )

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_enabled

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Group(Model):
    __tablename__ = "groups"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    members: so.Mapped[list[User]] = so.relationship(
        secondary=group_members, back_populates="groups", order_by="User.name"
    )


class UserSession(Model):
    """One row per login. Revoking it ends that session, even for a copied cookie."""

    __tablename__ = "user_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Only a hash of the token is stored: a database leak does not hand out live sessions.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # When the session last served a request (written at most once a minute): the idle timeout.
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    ip_address: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(255))


class LoginFailure(Model):
    """Failed logins for one key ("account:<email>" or "address:<ip>") in the current window.

    In the database, not in each process's memory, so every web worker counts the same tries.
    """

    __tablename__ = "login_failures"

    key: so.Mapped[str] = so.mapped_column(sa.String(300), primary_key=True)
    failures: so.Mapped[int] = so.mapped_column(default=0)
    window_started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    # SHA-256 of the whole token: a leaked table hands out no working token.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # The token's first characters, so a person can tell their tokens apart.
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    user: so.Mapped[User] = so.relationship()

    @property
    def last_day(self) -> date | None:
        """The last day (UTC) the token works: it expires as the next one begins."""
        if self.expires_at is None:
            return None
        return (self.expires_at - timedelta(microseconds=1)).date()

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
