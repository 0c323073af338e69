"""users: the colour scheme and the time zone chosen on the account page

Revision ID: d5a8e2f4b6c1
Revises: e5a7c3d9b812
Create Date: 2026-12-04 01:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd5a8e2f4b6c1'
down_revision = 'e5a7c3d9b812'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("theme", sa.String(length=10), nullable=False, server_default="system")
        )
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint("known_theme", "theme IN ('system', 'light', 'dark')")


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_known_theme"), type_="check")
        batch_op.drop_column("time_zone")
        batch_op.drop_column("theme")
