"""audit trail: hash chain (seq, prev_hash, hash), chain head, append-only triggers

Revision ID: 7e2c9a4b5d60
Revises: 6d1b8e2f3a41
Create Date: 2026-11-23 13:30:00

Events already stored are chained in id order, so an upgraded database verifies at once.
"""
from datetime import UTC

from alembic import op
import sqlalchemy as sa

# Application code in a migration, on purpose: the verifier hashes with this same function, so
# the chain built here must be hashed exactly the way the verifier will check it.
from governance.audit import chain


revision = '7e2c9a4b5d60'
down_revision = '6d1b8e2f3a41'
branch_labels = None
depends_on = None

BATCH_SIZE = 1000

audit_events = sa.table(
    'audit_events',
    sa.column('id', sa.Integer),
    sa.column('seq', sa.BigInteger),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('actor_id', sa.Integer),
    sa.column('action', sa.String),
    sa.column('object_type', sa.String),
    sa.column('object_id', sa.Integer),
    sa.column('summary', sa.String),
    sa.column('changes', sa.JSON),
    sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String),
)

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
]
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
    """,
    """
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
    """,
]


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    last_seq, last_hash = _chain_existing_events(op.get_bind())

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])

    head = op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.bulk_insert(head, [{'id': 1, 'seq': last_seq, 'last_hash': last_hash}])

    # Last: on SQLite a batch operation rebuilds the table, which would drop the triggers.
    triggers = POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == 'postgresql' else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def _chain_existing_events(connection):
    """Number and hash the stored events in id order; returns the chain's last seq and hash."""
    last_seq, last_hash, last_id = 0, chain.GENESIS_HASH, 0
    set_links = (
        audit_events.update()
        .where(audit_events.c.id == sa.bindparam('event_id'))
        .values(
            seq=sa.bindparam('new_seq'),
            prev_hash=sa.bindparam('new_prev_hash'),
            hash=sa.bindparam('new_hash'),
        )
    )
    while True:
        rows = connection.execute(
            sa.select(audit_events)
            .where(audit_events.c.id > last_id)
            .order_by(audit_events.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return last_seq, last_hash
        linked = chain.link([_content(row) for row in rows], after_seq=last_seq, after_hash=last_hash)
        connection.execute(set_links, [
            {'event_id': row.id, 'new_seq': event['seq'], 'new_prev_hash': event['prev_hash'], 'new_hash': event['hash']}
            for row, event in zip(rows, linked)
        ])
        last_seq, last_hash, last_id = linked[-1]['seq'], linked[-1]['hash'], rows[-1].id


def _content(row):
    event = {name: getattr(row, name) for name in chain.CONTENT_FIELDS}
    # As governance.timeutil.UTCDateTime reads it back: SQLite stores UTC without an offset.
    created_at = event['created_at']
    event['created_at'] = (
        created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at.astimezone(UTC)
    )
    return event


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_events_append_only ON audit_events')
        op.execute('DROP FUNCTION audit_events_append_only()')
    else:
        op.execute('DROP TRIGGER audit_events_no_update')
        op.execute('DROP TRIGGER audit_events_no_delete')
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
