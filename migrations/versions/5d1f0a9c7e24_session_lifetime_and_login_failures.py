"""sessions: last_seen_at for the idle timeout; login_failures: the login throttle's counts

Revision ID: 5d1f0a9c7e24
Revises: 7bd2ad35a83d
Create Date: 2026-12-02 14:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5d1f0a9c7e24'
down_revision = '7bd2ad35a83d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    # Existing sessions count as seen at their login: the idle timeout ends the stale ones.
    op.execute("UPDATE user_sessions SET last_seen_at = created_at")
    with op.batch_alter_table("user_sessions") as batch:
        batch.alter_column("last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(
        op.f("ix_login_failures_window_started_at"), "login_failures", ["window_started_at"]
    )


def downgrade():
    op.drop_index(op.f("ix_login_failures_window_started_at"), table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("last_seen_at")
