"""The audit trail against someone with database access: TRUNCATE and a head moved back are
refused, the application's role may only read and append, and signed checkpoints (kept in a
table, the log and a download) make `flask verify-audit` catch a chain cut short, even when
the chain head and the checkpoints table were emptied too."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.audit import chain, checkpoints, signing, writer
from governance.audit.checkpoint_writer import write_checkpoint, write_checkpoint_if_due
from governance.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from governance.audit.service import record_event
from governance.timeutil import utcnow
from tests.database import behind_stewards_back, loggers_left_alone

AUDIT_TABLES = ("audit_events", "audit_chain_head", "audit_checkpoints")


def _record(db, count: int) -> None:
    for number in range(count):
        record_event(actor_id=None, action="test.event", object_type="test", object_id=number)
        db.session.commit()


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _checkpoint_rows(db) -> list[AuditCheckpoint]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))


def _is_postgresql(db) -> bool:
    return db.engine.dialect.name == "postgresql"


def _empty(connection: sa.Connection, *tables: str) -> None:
    for table in tables:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {table}"))
        else:
            connection.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)


def _cut_chain_to(connection: sa.Connection, length: int) -> None:
    """Remove the events after position `length` and move the head back onto the last one left."""
    connection.execute(sa.text("DELETE FROM audit_events WHERE seq > :n"), {"n": length})
    last_hash = connection.scalar(
        sa.text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": length}
    )
    connection.execute(
        sa.text("UPDATE audit_chain_head SET seq = :n, last_hash = :h"),
        {"n": length, "h": last_hash},
    )


# ------------------------------------------------------------------ refused by the database


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_truncating_an_audit_table_is_refused(db, table):
    if not _is_postgresql(db):
        pytest.skip("SQLite has no TRUNCATE (its DELETE is refused by the row triggers)")
    _record(db, 2)
    write_checkpoint(utcnow())
    db.session.rollback()

    with (
        pytest.raises(sa.exc.DatabaseError, match=f"{table} is append-only"),
        db.engine.begin() as connection,
    ):
        connection.execute(sa.text(f"TRUNCATE {table} CASCADE"))

    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table))) > 0


def test_the_chain_head_cannot_be_moved_back_rewritten_or_deleted(db):
    _record(db, 3)
    db.session.rollback()
    for statement in (
        "UPDATE audit_chain_head SET seq = 1",
        "UPDATE audit_chain_head SET last_hash = 'forged'",
        "DELETE FROM audit_chain_head",
    ):
        with (
            pytest.raises(sa.exc.DatabaseError, match="append-only"),
            db.engine.begin() as connection,
        ):
            connection.execute(sa.text(statement))
    head = db.session.get(AuditChainHead, AuditChainHead.ROW_ID, populate_existing=True)
    assert head.seq == 3
    _record(db, 1)  # moving forward still works
    assert db.session.get(AuditChainHead, AuditChainHead.ROW_ID, populate_existing=True).seq == 4


def test_a_checkpoint_row_cannot_be_changed_or_deleted(db):
    _record(db, 2)
    write_checkpoint(utcnow())
    db.session.rollback()
    for statement in (
        "UPDATE audit_checkpoints SET seq = 1",
        "DELETE FROM audit_checkpoints",
    ):
        with (
            pytest.raises(sa.exc.DatabaseError, match="audit_checkpoints is append-only"),
            db.engine.begin() as connection,
        ):
            connection.execute(sa.text(statement))
    assert [row.seq for row in _checkpoint_rows(db)] == [2]


# ------------------------------------------------------------------ the application's role


@pytest.fixture
def app_role(app, db, monkeypatch):
    """A real non-superuser role, given every privilege on every table (the careless grant),
    then migrated with STEWARD_DB_APP_ROLE naming it: the audit migration takes back what the
    application must not have."""
    if not _is_postgresql(db):
        pytest.skip("database roles are a PostgreSQL matter (DATABASE_URL=postgresql...)")
    from flask_migrate import downgrade, upgrade

    role = f"{db.engine.url.database}_app"
    db.session.remove()
    with db.engine.begin() as connection:
        _drop_role(connection, role)
        connection.execute(sa.text(f'CREATE ROLE "{role}" NOSUPERUSER NOLOGIN'))
        connection.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        connection.execute(sa.text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        connection.execute(sa.text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    monkeypatch.setitem(app.config, "STEWARD_DB_APP_ROLE", role)
    with loggers_left_alone():
        downgrade(revision="58a6e935b245-1")  # just before the audit migration
        upgrade()
    db.session.remove()
    yield role
    with db.engine.begin() as connection:
        _drop_role(connection, role)


def _drop_role(connection: sa.Connection, role: str) -> None:
    exists = connection.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists:
        connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
        connection.execute(sa.text(f'DROP ROLE "{role}"'))


@contextmanager
def _as_role(db, role: str):
    """A connection running as `role` for one transaction, rolled back at the end."""
    with db.engine.connect() as connection:
        connection.execute(sa.text(f'SET ROLE "{role}"'))
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute(sa.text("RESET ROLE"))


def test_the_app_role_appends_and_reads_but_cannot_rewrite_or_empty_the_trail(db, app_role):
    _record(db, 2)
    db.session.rollback()

    # The real writer, as the application role: insert the event, move the head forward.
    with _as_role(db, app_role) as connection:
        session = so.Session(bind=connection)
        writer.queue_for_commit(
            session,
            {
                "created_at": utcnow(),
                "actor_id": None,
                "action": "test.as_app",
                "object_type": "test",
                "object_id": 1,
                "summary": "",
                "changes": {},
            },
        )
        session.commit()  # joins the connection's transaction, which is rolled back after
        assert connection.scalar(sa.text("SELECT max(seq) FROM audit_events")) == 3
        assert connection.scalar(sa.text("SELECT seq FROM audit_chain_head")) == 3
        connection.execute(
            sa.insert(AuditCheckpoint.__table__).values(
                seq=3, head_hash="x" * 64, created_at=utcnow(), signature="y" * 64
            )
        )
        assert connection.scalar(sa.text("SELECT count(*) FROM audit_checkpoints")) == 1

    refused = [
        "UPDATE audit_events SET summary = 'rewritten'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "UPDATE audit_checkpoints SET seq = 1",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
        "DELETE FROM audit_chain_head",
        "TRUNCATE audit_chain_head",
    ]
    for statement in refused:
        with (
            _as_role(db, app_role) as connection,
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        ):
            connection.execute(sa.text(statement))
    # Other tables keep what the operator granted.
    with _as_role(db, app_role) as connection:
        connection.execute(sa.text("DELETE FROM user_sessions"))


# ------------------------------------------------------------------ writing checkpoints


def test_a_checkpoint_signs_the_chain_head_and_is_logged_as_one_json_line(app, db, caplog):
    _record(db, 3)
    caplog.set_level(logging.INFO, logger="governance.audit.checkpoint_writer")

    result = _cli(app, "audit-checkpoint")

    assert result.exit_code == 0, result.output
    [row] = _checkpoint_rows(db)
    head = db.session.get(AuditChainHead, AuditChainHead.ROW_ID, populate_existing=True)
    assert (row.seq, row.head_hash) == (3, head.last_hash)
    stored = signing.Checkpoint(row.seq, row.head_hash, row.created_at, row.signature)
    assert signing.is_authentic(checkpoints.signing_key(), stored)
    line = signing.to_line(stored)
    assert result.output.strip() == line
    logged = [r.getMessage() for r in caplog.records if "audit_checkpoint" in r.getMessage()]
    assert logged == [line]


def test_a_checkpoint_run_twice_without_new_events_writes_no_duplicate(app, db):
    _record(db, 2)
    assert write_checkpoint(utcnow()) is not None
    assert write_checkpoint(utcnow()) is None
    assert write_checkpoint_if_due(utcnow() + timedelta(days=1), timedelta(minutes=60)) is None
    result = _cli(app, "audit-checkpoint")
    assert result.exit_code == 0
    assert "nothing to sign" in result.output
    assert [row.seq for row in _checkpoint_rows(db)] == [2]


def test_an_empty_chain_gets_no_checkpoint(db):
    assert write_checkpoint(utcnow()) is None
    assert _checkpoint_rows(db) == []


def test_the_periodic_checkpoint_waits_for_its_interval(db):
    now = utcnow()
    _record(db, 1)
    write_checkpoint(now)
    _record(db, 1)
    every = timedelta(minutes=60)

    assert write_checkpoint_if_due(now + timedelta(minutes=58), every) is None
    # The next hourly pass may start a moment less than an hour after the last one signed.
    written = write_checkpoint_if_due(now + timedelta(minutes=59, seconds=59), every)

    assert written is not None and written.seq == 2
    assert [row.seq for row in _checkpoint_rows(db)] == [1, 2]


def test_no_checkpoint_is_signed_over_a_chain_broken_since_the_last_one(app, db):
    _record(db, 2)
    write_checkpoint(utcnow())
    _record(db, 2)
    with behind_stewards_back(db) as connection:
        connection.execute(sa.text("UPDATE audit_events SET summary = 'rewritten' WHERE seq = 4"))

    result = _cli(app, "audit-checkpoint")

    assert result.exit_code == 1
    assert "No checkpoint written. Audit chain broken at event #" in result.output
    assert "(position 4): its content does not match its hash." in result.output
    assert [row.seq for row in _checkpoint_rows(db)] == [2]


# ------------------------------------------------------------------ verify-audit


def test_verify_audit_passes_an_intact_chain_and_its_checkpoints(app, db):
    _record(db, 2)
    write_checkpoint(utcnow())
    _record(db, 3)
    write_checkpoint(utcnow())
    _record(db, 1)

    result = _cli(app, "verify-audit")

    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 6 events." in result.output
    assert "Checkpoints: 2 verified, the last at position 5." in result.output


def test_verify_audit_catches_events_removed_after_a_checkpoint(app, db):
    # The owner switches the triggers off, removes the newest events and moves the head
    # back: the chain checks out on its own, but the checkpoint remembers its length.
    _record(db, 5)
    write_checkpoint(utcnow())
    with behind_stewards_back(db) as connection:
        _cut_chain_to(connection, 3)

    result = _cli(app, "verify-audit")

    assert result.exit_code == 1
    assert "Audit chain broken at position 4: the checkpoint of " in result.output
    assert "says the chain had 5 events, but it ends at position 3: events were removed." in (
        result.output
    )


def test_verify_audit_catches_the_events_and_the_head_emptied(app, db):
    _record(db, 3)
    write_checkpoint(utcnow())
    with behind_stewards_back(db) as connection:
        _empty(connection, "audit_events", "audit_chain_head")

    result = _cli(app, "verify-audit")

    assert result.exit_code == 1
    assert "Audit chain intact" not in result.output
    assert "says the chain had 3 events, but it ends at position 0" in result.output


def test_a_kept_checkpoints_file_catches_every_audit_table_emptied(app, db, login, users, tmp_path):
    _record(db, 3)
    checkpoint = write_checkpoint(utcnow())
    download = login(users["admin"]).get("/admin/audit/checkpoints.jsonl")
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_bytes(download.get_data())
    assert _cli(app, "verify-audit", "--checkpoints", str(kept)).exit_code == 0
    with behind_stewards_back(db) as connection:
        _empty(connection, *AUDIT_TABLES)

    assert "Audit chain intact: 0 events." in _cli(app, "verify-audit").output  # as before
    result = _cli(app, "verify-audit", "--checkpoints", str(kept))

    assert result.exit_code == 1
    assert f"Audit checkpoint at position {checkpoint.seq} (" in result.output
    assert "from the checkpoints file is missing from audit_checkpoints: rows were removed." in (
        result.output
    )


def test_a_kept_file_catches_a_chain_cut_below_a_checkpoint_removed_from_the_table(app, db):
    _record(db, 4)
    kept = signing.to_line(write_checkpoint(utcnow()))
    with behind_stewards_back(db) as connection:
        _cut_chain_to(connection, 2)
        _empty(connection, "audit_checkpoints")

    result = app.test_cli_runner().invoke(
        args=["verify-audit", "--checkpoints", "-"], input=f"INFO checkpoint: {kept}\n"
    )

    assert result.exit_code == 1
    assert "missing from audit_checkpoints" in result.output


def test_verify_audit_refuses_a_checkpoint_signed_with_another_key(app, db):
    _record(db, 3)
    with db.engine.begin() as connection:  # inserting needs no trigger switched off
        head_hash = connection.scalar(sa.text("SELECT last_hash FROM audit_chain_head"))
        forged = signing.sign(b"not the key", seq=3, head_hash=head_hash, created_at=utcnow())
        connection.execute(
            sa.insert(AuditCheckpoint.__table__).values(
                seq=forged.seq,
                head_hash=forged.head_hash,
                created_at=forged.created_at,
                signature=forged.signature,
            )
        )

    result = _cli(app, "verify-audit")

    assert result.exit_code == 1
    assert (
        "Audit checkpoint at position 3 (" in result.output
        and "in audit_checkpoints has a signature this AUDIT_CHECKPOINT_KEY did not make: it was "
        "forged or altered."
        in result.output
    )


def test_verify_audit_refuses_a_forged_line_in_the_checkpoints_file(app, db, tmp_path):
    _record(db, 3)
    genuine = write_checkpoint(utcnow())
    forged = signing.sign(b"guessed", seq=3, head_hash=genuine.head_hash, created_at=utcnow())
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text(signing.to_line(genuine) + "\n" + signing.to_line(forged) + "\n")

    result = _cli(app, "verify-audit", "--checkpoints", str(kept))

    assert result.exit_code == 1
    assert "in the checkpoints file has a signature this AUDIT_CHECKPOINT_KEY did not make" in (
        result.output
    )


def test_verify_audit_catches_a_chain_rehashed_under_a_checkpoint(app, db):
    # Rewriting event 2 and rehashing everything after it, head included, leaves a chain
    # that checks out on its own; the signed checkpoint still names the old hash.
    _record(db, 4)
    write_checkpoint(utcnow())
    events = list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))
    contents = [{name: getattr(event, name) for name in chain.CONTENT_FIELDS} for event in events]
    contents[1]["summary"] = "nothing happened"
    relinked = chain.link(contents[1:], after_seq=1, after_hash=events[0].hash)
    with behind_stewards_back(db) as connection:
        for event, new in zip(events[1:], relinked, strict=True):
            connection.execute(
                sa.text(
                    "UPDATE audit_events SET summary = :s, prev_hash = :p, hash = :h WHERE id = :id"
                ),
                {"s": new["summary"], "p": new["prev_hash"], "h": new["hash"], "id": event.id},
            )
        connection.execute(
            sa.text("UPDATE audit_chain_head SET last_hash = :h"), {"h": relinked[-1]["hash"]}
        )

    result = _cli(app, "verify-audit")

    assert result.exit_code == 1
    assert f"Audit chain broken at event #{events[3].id} (position 4): its hash is not the one" in (
        result.output
    )


def test_verify_audit_names_an_unreadable_line_of_the_checkpoints_file(app, db, tmp_path):
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text('\n{"kind": "something else"}\n')

    result = _cli(app, "verify-audit", "--checkpoints", str(kept))

    assert result.exit_code == 2
    assert "checkpoints.jsonl, line 2: it is not a checkpoint" in result.output


def test_the_periodic_task_signs_when_due_and_twice_writes_nothing_more(app, db, monkeypatch):
    from governance.audit.jobs import write_audit_checkpoint_when_due
    from governance.extensions import huey

    _record(db, 2)
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 0)

    assert write_audit_checkpoint_when_due.call_local() == 2
    assert write_audit_checkpoint_when_due.call_local() is None
    assert [row.seq for row in _checkpoint_rows(db)] == [2]
    periodic = [task.name for task in huey._registry.periodic_tasks]
    assert any(name.endswith("write_audit_checkpoint_when_due") for name in periodic)


@pytest.mark.parametrize(
    ("minutes", "due_at"),
    [(60, [41]), (15, [11, 26, 41, 56]), (240, [41]), (0.5, list(range(60)))],
)
def test_the_checkpoint_schedule_follows_the_interval_within_the_hour(minutes, due_at):
    from datetime import UTC, datetime

    from governance.audit.jobs import _every_interval

    is_due = _every_interval(minutes)
    moments = [datetime(2026, 12, 2, 10, minute, tzinfo=UTC) for minute in range(60)]
    assert [moment.minute for moment in moments if is_due(moment)] == due_at
