"""The audit chain on a real database: written at commit by the real services, one chain under
concurrent commits, append-only in the database itself, and `flask verify-audit` catching
tampering done behind Steward's back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.audit import chain
from governance.audit.models import AuditChainHead, AuditEvent
from governance.audit.service import record_event
from governance.audit.verify import verify_chain
from governance.auth import service as accounts
from governance.policies import service as policies
from tests import factories
from tests.database import behind_stewards_back, loggers_left_alone


def _chain(db) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))


def _head(db) -> tuple[int, str]:
    head = db.session.get(AuditChainHead, AuditChainHead.ROW_ID, populate_existing=True)
    return head.seq, head.last_hash


def _assert_one_unbroken_chain(db, length: int) -> None:
    events = _chain(db)
    assert [event.seq for event in events] == list(range(1, length + 1))
    prev_hash = chain.GENESIS_HASH
    for event in events:
        assert event.prev_hash == prev_hash
        prev_hash = event.hash
    assert _head(db) == (length, prev_hash)
    check = verify_chain()
    assert check.is_intact, check.message
    assert check.events == length


def _verify_audit(app):
    return app.test_cli_runner().invoke(args=["verify-audit"])


def _three_policy_events(users) -> None:
    policy = factories.make_policy(users["owner"], title="Chained")
    policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    policies.transition_policy(policy.id, "draft", actor=users["admin"], reason="Not yet")


# ------------------------------------------------------------------ writing


def test_events_of_real_services_are_numbered_and_linked_in_commit_order(db, users):
    _three_policy_events(users)
    accounts.create_group("Auditors", actor=users["admin"])

    _assert_one_unbroken_chain(db, 4)
    assert [event.action for event in _chain(db)] == [
        "policy.created",
        "policy.status_changed",
        "policy.status_changed",
        "group.created",
    ]


def test_stored_events_hash_to_what_they_store(db, users):
    _three_policy_events(users)
    for event in _chain(db):
        content = {name: getattr(event, name) for name in chain.CONTENT_FIELDS}
        assert chain.event_hash(content, seq=event.seq, prev_hash=event.prev_hash) == event.hash


def test_several_events_in_one_transaction_take_consecutive_positions(db, users):
    _three_policy_events(users)
    for number in range(3):
        record_event(actor_id=None, action="test.batch", object_type="test", object_id=number)
    db.session.commit()

    _assert_one_unbroken_chain(db, 6)
    assert [event.object_id for event in _chain(db)[3:]] == [0, 1, 2]


def test_changes_are_stored_and_hashed_as_json_gives_them_back(db):
    record_event(
        actor_id=None,
        action="test.json",
        object_type="test",
        object_id=1,
        summary="x" * 600,
        changes={"ids": (1, 2), 3: {"before": None, "after": "é"}},
    )
    db.session.commit()

    event = _chain(db)[0]
    assert event.changes == {"ids": [1, 2], "3": {"before": None, "after": "é"}}
    assert len(event.summary) == 500
    assert verify_chain().is_intact


def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(db, users):
    _three_policy_events(users)
    record_event(actor_id=None, action="test.lost", object_type="test", object_id=1)
    db.session.rollback()
    record_event(actor_id=None, action="test.kept", object_type="test", object_id=2)
    db.session.commit()

    _assert_one_unbroken_chain(db, 4)
    assert "test.lost" not in [event.action for event in _chain(db)]


def test_a_rolled_back_savepoint_drops_its_events_and_keeps_the_others(db):
    record_event(actor_id=None, action="test.outer", object_type="test", object_id=1)
    savepoint = db.session.begin_nested()
    record_event(actor_id=None, action="test.inner", object_type="test", object_id=2)
    savepoint.rollback()
    with db.session.begin_nested():
        record_event(actor_id=None, action="test.released", object_type="test", object_id=3)
    db.session.commit()

    assert [event.action for event in _chain(db)] == ["test.outer", "test.released"]
    _assert_one_unbroken_chain(db, 2)


def test_a_closed_session_forgets_its_uncommitted_events(db):
    record_event(actor_id=None, action="test.abandoned", object_type="test", object_id=1)
    db.session.close()
    record_event(actor_id=None, action="test.committed", object_type="test", object_id=2)
    db.session.commit()

    assert [event.action for event in _chain(db)] == ["test.committed"]


def test_the_head_row_is_created_by_the_first_event(db):
    assert db.session.get(AuditChainHead, AuditChainHead.ROW_ID) is None  # emptied between tests
    record_event(actor_id=None, action="test.first", object_type="test", object_id=1)
    db.session.commit()

    _assert_one_unbroken_chain(db, 1)


# ------------------------------------------------------------------ concurrency


def test_concurrent_commits_build_one_unbroken_chain(app, db, users):
    threads_count, commits_each = 4, 5
    owner_id = users["owner"].id
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []
    committed: list[int] = []
    is_postgresql = db.engine.dialect.name == "postgresql"
    # On PostgreSQL every round's commits reach the chain head at the same moment, so each
    # append contends for the head lock; without it two would take the same position.
    commit_together = threading.Barrier(threads_count, timeout=30)
    racers = set()

    def wait_for_the_others(session: so.Session) -> None:
        if threading.get_ident() in racers and not session.in_nested_transaction():
            commit_together.wait()

    def create_policies(number: int) -> None:
        racers.add(threading.get_ident())
        with app.app_context():
            from governance.auth.models import User
            from governance.extensions import db as thread_db

            owner = thread_db.session.get(User, owner_id)
            start.wait()
            try:
                for round_number in range(commits_each):
                    _create_with_retry(thread_db, owner, f"Race {number}.{round_number}")
                    committed.append(number)
            except BaseException as error:
                errors.append(error)
                commit_together.abort()
            finally:
                thread_db.session.remove()

    if is_postgresql:
        sa.event.listen(so.Session, "before_commit", wait_for_the_others, insert=True)
    try:
        threads = [
            threading.Thread(target=create_policies, args=(number,))
            for number in range(threads_count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if is_postgresql:
            sa.event.remove(so.Session, "before_commit", wait_for_the_others)

    assert errors == []
    assert len(committed) == threads_count * commits_each
    _assert_one_unbroken_chain(db, threads_count * commits_each)


def _create_with_retry(thread_db, owner, title: str) -> None:
    """SQLite may refuse a writer outright while another holds the lock: try again then."""
    for attempt in range(20):
        try:
            policies.create_policy(
                policies.PolicyInput(
                    title=title, body="Body", category="Race", owner_id=owner.id, tags=""
                ),
                actor=owner,
                max_body=200_000,
            )
            return
        except sa.exc.OperationalError:
            if thread_db.engine.dialect.name == "postgresql" or attempt == 19:
                raise
            thread_db.session.rollback()


# ------------------------------------------------------------------ append-only


def test_the_database_refuses_to_update_an_audit_event(db, users):
    _three_policy_events(users)
    db.session.rollback()
    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        db.engine.begin() as connection,
    ):
        connection.execute(sa.text("UPDATE audit_events SET summary = 'rewritten'"))
    assert "rewritten" not in [event.summary for event in _chain(db)]


def test_the_database_refuses_to_delete_an_audit_event(db, users):
    _three_policy_events(users)
    db.session.rollback()
    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        db.engine.begin() as connection,
    ):
        connection.execute(sa.text("DELETE FROM audit_events WHERE seq = 3"))
    assert len(_chain(db)) == 3


def test_an_orm_change_to_an_audit_event_is_refused_too(db, users):
    _three_policy_events(users)
    event = _chain(db)[0]
    event.summary = "rewritten"
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.commit()
    db.session.rollback()


# ------------------------------------------------------------------ verify-audit


def test_verify_audit_passes_an_intact_chain(app, db, users):
    _three_policy_events(users)
    result = _verify_audit(app)
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 3 events." in result.output
    assert f"Last hash: {_head(db)[1]}" in result.output


def test_verify_audit_passes_an_empty_database(app, db):
    result = _verify_audit(app)
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 0 events." in result.output


def test_verify_audit_names_an_event_whose_content_was_changed(app, db, users):
    _three_policy_events(users)
    target = _chain(db)[1]
    with behind_stewards_back(db) as connection:
        connection.execute(
            sa.text("UPDATE audit_events SET summary = 'nothing happened' WHERE id = :id"),
            {"id": target.id},
        )

    result = _verify_audit(app)

    assert result.exit_code == 1
    assert (
        f"Audit chain broken at event #{target.id} (position 2): "
        "its content does not match its hash." in result.output
    )


def _rewrite_with_its_own_hash(db, event, *, summary: str) -> None:
    """Change an event's summary behind Steward's back and store the hash of the new content."""
    content = {name: getattr(event, name) for name in chain.CONTENT_FIELDS}
    content["summary"] = summary
    forged = chain.event_hash(content, seq=event.seq, prev_hash=event.prev_hash)
    with behind_stewards_back(db) as connection:
        connection.execute(
            sa.text("UPDATE audit_events SET summary = :summary, hash = :hash WHERE id = :id"),
            {"summary": summary, "hash": forged, "id": event.id},
        )


def test_verify_audit_catches_a_rewritten_event_with_a_recomputed_hash(app, db, users):
    # Rehashing the altered event is not enough: the next event still links to the old hash.
    _three_policy_events(users)
    target = _chain(db)[1]
    _rewrite_with_its_own_hash(db, target, summary="nothing happened")

    result = _verify_audit(app)

    assert result.exit_code == 1
    third = _chain(db)[2]
    assert (
        f"Audit chain broken at event #{third.id} (position 3): "
        "it does not link to the event before it." in result.output
    )


def test_verify_audit_catches_an_event_removed_from_the_middle(app, db, users):
    _three_policy_events(users)
    second, third = _chain(db)[1:3]
    with behind_stewards_back(db) as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": second.id})

    check = verify_chain()

    assert not check.is_intact
    assert (check.event_id, check.position, check.events) == (third.id, 3, 1)
    assert "expected position 2" in check.message


def test_verify_audit_catches_the_last_event_removed(app, db, users):
    _three_policy_events(users)
    last = _chain(db)[-1]
    with behind_stewards_back(db) as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": last.id})

    result = _verify_audit(app)

    assert result.exit_code == 1
    assert "Audit chain broken at position 3: the chain head says the chain has 3 events" in (
        result.output
    )


def test_verify_audit_catches_a_last_event_rewritten_with_its_hash(app, db, users):
    # No event links to the last one; the head's copy of its hash does.
    _three_policy_events(users)
    last = _chain(db)[-1]
    _rewrite_with_its_own_hash(db, last, summary="nothing happened")

    result = _verify_audit(app)

    assert result.exit_code == 1
    assert f"event #{last.id} (position 3): it does not match the hash the chain head" in (
        result.output
    )


def test_verify_audit_catches_an_event_appended_without_the_head(app, db, users):
    _three_policy_events(users)
    last = _chain(db)[-1]
    forged = {
        "created_at": datetime.now(UTC),
        "actor_id": None,
        "action": "policy.deleted",
        "object_type": "policy",
        "object_id": 1,
        "summary": "Forged",
        "changes": {},
    }
    [linked] = chain.link([forged], after_seq=last.seq, after_hash=last.hash)
    db.session.rollback()
    with db.engine.begin() as connection:  # inserting needs no trigger switched off
        connection.execute(sa.insert(AuditEvent.__table__), linked)

    result = _verify_audit(app)

    assert result.exit_code == 1
    forged_id = _chain(db)[-1].id
    assert f"event #{forged_id} (position 4): it lies beyond the chain head" in result.output


# ------------------------------------------------------------------ the migration


def test_upgrading_a_database_with_events_chains_them_in_id_order(app, db):
    old_events = sa.table(
        "audit_events",
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.Integer),
        sa.column("summary", sa.String),
        sa.column("changes", sa.JSON),
    )
    db.session.remove()
    with loggers_left_alone():
        _downgrade_insert_upgrade(db, old_events)

    _assert_one_unbroken_chain(db, 3)
    assert [event.object_id for event in _chain(db)] == [1, 2, 3]
    # The chain goes on from where the migration left it.
    record_event(actor_id=None, action="test.after_upgrade", object_type="test", object_id=4)
    db.session.commit()
    _assert_one_unbroken_chain(db, 4)


def _downgrade_insert_upgrade(db, old_events) -> None:
    from flask_migrate import downgrade, upgrade

    downgrade(revision="6d1b8e2f3a41")
    try:
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(old_events),
                [
                    {
                        "created_at": datetime(2026, 1, day, 12, 0, tzinfo=UTC),
                        "actor_id": None,
                        "action": "policy.created",
                        "object_type": "policy",
                        "object_id": day,
                        "summary": f"Created policy {day}",
                        "changes": {"title": {"before": None, "after": f"Policy {day}"}},
                    }
                    for day in (1, 2, 3)
                ],
            )
    finally:
        upgrade()
        db.session.remove()
