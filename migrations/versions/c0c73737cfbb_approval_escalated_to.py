"""approval requests: whom an overdue request was escalated to, as named then

Revision ID: c0c73737cfbb
Revises: 5d1f0a9c7e24
Create Date: 2026-12-02 15:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c0c73737cfbb'
down_revision = '5d1f0a9c7e24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("approval_requests") as batch_op:
        batch_op.add_column(sa.Column("escalated_to", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("approval_requests") as batch_op:
        batch_op.drop_column("escalated_to")
