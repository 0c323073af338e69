"""policy search: trigram indexes on PostgreSQL

Revision ID: 3b7c2f1a9d04
Revises: 20e4e7d111ac
Create Date: 2026-11-23 10:20:00

"""
from alembic import op

revision = '3b7c2f1a9d04'
down_revision = '20e4e7d111ac'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in ("title", "body"):
        op.create_index(
            f"ix_policies_{column}_trgm", "policies", [column],
            postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in ("title", "body"):
        op.drop_index(f"ix_policies_{column}_trgm", table_name="policies")
