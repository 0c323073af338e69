"""webhook deliveries: the log of each request an outbound webhook step sent

Revision ID: e5a7c3d9b812
Revises: c0c73737cfbb
Create Date: 2026-12-04 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e5a7c3d9b812'
down_revision = 'c0c73737cfbb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('step_run_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=True),
        sa.Column('is_redelivery', sa.Boolean(), nullable=False),
        sa.Column('redelivered_by_id', sa.Integer(), nullable=True),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('request_headers', sa.JSON(), nullable=False),
        sa.Column('request_body', sa.Text(), nullable=False),
        sa.Column('response_status', sa.Integer(), nullable=True),
        sa.Column('response_headers', sa.JSON(), nullable=False),
        sa.Column('response_body', sa.Text(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['redelivered_by_id'], ['users.id'], name=op.f('fk_webhook_deliveries_redelivered_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['step_run_id'], ['step_runs.id'], name=op.f('fk_webhook_deliveries_step_run_id_step_runs'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        sa.UniqueConstraint('step_run_id', 'attempt', name='uq_webhook_delivery_attempt'),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_created', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_created')
    op.drop_table('webhook_deliveries')
