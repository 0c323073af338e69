"""audit trail: signed checkpoints, TRUNCATE refused, a head that only moves forward, app role

Revision ID: 58a6e935b245
Revises: c4e8a1f2d3b5
Create Date: 2026-12-02 14:30:00

On PostgreSQL, row triggers do not see TRUNCATE, so each audit table gets a statement trigger
that refuses it. The chain head may only move forward (a head moved back would hide removed
events). When STEWARD_DB_APP_ROLE names the role the application connects as, that role keeps
only SELECT and INSERT on the append-only tables (and UPDATE on the head): the triggers stop
mistakes, the missing privileges stop the application's own credentials. The owner role that
runs migrations can still switch triggers off; the signed checkpoints catch what it removes.
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


revision = '58a6e935b245'
down_revision = 'c4e8a1f2d3b5'
branch_labels = None
depends_on = None

APPEND_ONLY = ('audit_events', 'audit_checkpoints')
AUDIT_TABLES = (*APPEND_ONLY, 'audit_chain_head')

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
    END
    $$
    """,
    """
    CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.id <> OLD.id OR NEW.seq < OLD.seq
           OR (NEW.seq = OLD.seq AND NEW.last_hash <> OLD.last_hash) THEN
            RAISE EXCEPTION 'audit_chain_head is append-only: it only moves forward';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    *(
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()
        """
        for table in AUDIT_TABLES
    ),
    """
    CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
    """,
    """
    CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
    """,
    """
    CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only()
    """,
]
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END
    """,
    """
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END
    """,
    """
    CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    BEGIN SELECT RAISE(ABORT, 'audit_chain_head is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head
    WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq
         OR (NEW.seq = OLD.seq AND NEW.last_hash <> OLD.last_hash)
    BEGIN SELECT RAISE(ABORT, 'audit_chain_head is append-only: it only moves forward'); END
    """,
]


def upgrade():
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_checkpoints_seq'))
    )
    if op.get_bind().dialect.name != 'postgresql':
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        return
    for statement in POSTGRESQL_TRIGGERS:
        op.execute(statement)
    _restrict_privileges(current_app.config.get('STEWARD_DB_APP_ROLE', ''))


def _restrict_privileges(app_role):
    """Nobody but the owner may rewrite the trail; the application role may read and append."""
    tables = ', '.join(AUDIT_TABLES)
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM PUBLIC')
    if not app_role:
        return
    role = op.get_bind().dialect.identifier_preparer.quote(app_role)
    op.execute(f'REVOKE ALL ON {tables} FROM {role}')
    op.execute(f'GRANT SELECT, INSERT ON {", ".join(APPEND_ONLY)} TO {role}')
    # The writer creates the head row once and moves it forward with each commit.
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON audit_chain_head TO {role}')
    op.execute(
        f'GRANT USAGE, SELECT ON SEQUENCE audit_events_id_seq, audit_checkpoints_id_seq TO {role}'
    )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in AUDIT_TABLES:
            op.execute(f'DROP TRIGGER {table}_no_truncate ON {table}')
        op.execute('DROP TRIGGER audit_chain_head_no_delete ON audit_chain_head')
        op.execute('DROP TRIGGER audit_chain_head_forward_only ON audit_chain_head')
        op.execute('DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints')
        op.execute('DROP FUNCTION audit_chain_head_forward_only()')
        op.execute('DROP FUNCTION audit_refuse_change()')
    else:
        op.execute('DROP TRIGGER audit_chain_head_no_delete')
        op.execute('DROP TRIGGER audit_chain_head_forward_only')
    # The checkpoints table's own triggers go with it.
    op.drop_table('audit_checkpoints')
