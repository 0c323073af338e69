"""webhooks: outbound signing secret per workflow (with a rotation's previous one), the inbound
legacy-signature switch, and the inbound message ids that make a replay visible

Revision ID: 7bd2ad35a83d
Revises: 58a6e935b245
Create Date: 2026-12-02 14:40:00

Existing workflows keep working as they did:
- each takes the signing secret its first outbound webhook step already signed with (steps
  kept one each in their config), or a new one if it has no such step;
- each whose trigger is (or was, in any version) an inbound webhook keeps accepting the older
  X-Steward-Signature: its legacy switch is turned on. New workflows start with it off.
"""
import base64
import json
import secrets

import sqlalchemy as sa
from alembic import op

revision = '7bd2ad35a83d'
down_revision = '58a6e935b245'
branch_labels = None
depends_on = None


def _new_secret() -> str:
    # As governance.webhooks.signing.new_signing_secret (a migration does not import the app).
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _definition(value):
    return json.loads(value) if isinstance(value, str) else (value or {})


def _first_webhook_secret(definition) -> str | None:
    for stage in definition.get("stages") or []:
        for step in stage.get("steps") or []:
            secret = (step.get("config") or {}).get("secret")
            if step.get("type") == "webhook" and isinstance(secret, str) and 0 < len(secret) <= 100:
                return secret
    return None


def upgrade():
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_legacy_signature', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('signing_secret', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('previous_signing_secret', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('previous_signing_secret_expires_at', sa.DateTime(timezone=True), nullable=True))

    connection = op.get_bind()
    workflows = sa.table(
        'workflows',
        sa.column('id', sa.Integer),
        sa.column('trigger_type', sa.String),
        sa.column('latest_version', sa.Integer),
        sa.column('webhook_legacy_signature', sa.Boolean),
        sa.column('signing_secret', sa.String),
    )
    versions = sa.table(
        'workflow_versions',
        sa.column('workflow_id', sa.Integer),
        sa.column('number', sa.Integer),
        sa.column('definition', sa.Text),
    )
    rows = connection.execute(
        sa.select(workflows.c.id, workflows.c.trigger_type, workflows.c.latest_version)
    ).all()
    for workflow_id, trigger_type, latest in rows:
        definitions = {
            number: _definition(definition)
            for number, definition in connection.execute(
                sa.select(versions.c.number, versions.c.definition).where(
                    versions.c.workflow_id == workflow_id
                )
            )
        }
        is_inbound = trigger_type == 'webhook' or any(
            (d.get("trigger") or {}).get("type") == 'webhook' for d in definitions.values()
        )
        secret = _first_webhook_secret(definitions.get(latest, {})) or _new_secret()
        connection.execute(
            workflows.update()
            .where(workflows.c.id == workflow_id)
            .values(signing_secret=secret, webhook_legacy_signature=is_inbound)
        )

    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.alter_column('signing_secret', existing_type=sa.String(length=100), nullable=False)

    op.create_table('inbound_webhook_messages',
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('execution_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], name=op.f('fk_inbound_webhook_messages_execution_id_executions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_inbound_webhook_messages_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workflow_id', 'message_id', name=op.f('pk_inbound_webhook_messages'))
    )
    with op.batch_alter_table('inbound_webhook_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_webhook_messages_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('inbound_webhook_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_webhook_messages_received_at'))
    op.drop_table('inbound_webhook_messages')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_column('previous_signing_secret_expires_at')
        batch_op.drop_column('previous_signing_secret')
        batch_op.drop_column('signing_secret')
        batch_op.drop_column('webhook_legacy_signature')
