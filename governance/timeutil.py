"""Timezone-aware UTC time, in one place so every timestamp is comparable."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same moment in UTC; a naive datetime can only mean UTC here (stored times are)."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores UTC and always hands back aware datetimes, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use governance.timeutil.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        return None if value is None else as_utc(value)
