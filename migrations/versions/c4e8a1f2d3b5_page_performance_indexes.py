"""page performance: indexes for the policies list by category and the inbox's Decided tab

Revision ID: c4e8a1f2d3b5
Revises: 76234b1c4bb4
Create Date: 2026-11-23 18:20:00

"""
from alembic import op

revision = 'c4e8a1f2d3b5'
down_revision = '76234b1c4bb4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_policies_category_status_updated", "policies",
        ["category", "status", "updated_at", "id"],
    )
    op.create_index(
        "ix_approval_requests_decided_by", "approval_requests", ["decided_by_id", "decided_at"]
    )


def downgrade():
    op.drop_index("ix_approval_requests_decided_by", table_name="approval_requests")
    op.drop_index("ix_policies_category_status_updated", table_name="policies")
