"""Email through the outbox, delivered to a real SMTP server (aiosmtpd on a free local port).

The send task is taken off the test's own Huey queue and executed the way a consumer does;
one test runs a real consumer process. Retry timing is checked through `now` arguments and
the eta of the scheduled wake-up message, never against the wall clock.
"""

from __future__ import annotations

import email
import socket
import time
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from governance.auth.models import User
from governance.extensions import huey
from governance.notifications import outbox, tasks
from governance.notifications.digest import claim_digest, send_due_digests
from governance.notifications.models import Notification, OutboundEmail
from governance.notifications.service import notify, notify_users, user_ids_of_groups
from governance.timeutil import utcnow
from tests import factories
from tests.consumers import running_consumer
from tests.factories import make_workflow, run_queued_steps, step


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port, and the app pointed at it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield mailbox
    finally:
        controller.stop()
        app.config.update(MAIL_SERVER="", MAIL_PORT=25)


def run_email_tasks() -> int:
    """Do what a consumer does with each send message waiting in the queue; returns how many
    were due and ran (one not yet due goes to Huey's schedule). Other tasks are left alone."""
    ran, others = 0, []
    while (task := huey.dequeue()) is not None:
        if task.name == tasks.send_email.name:
            ran += huey.ready_to_run(task)
            huey.execute(task)
        else:
            others.append(task)
    for task in others:
        huey.enqueue(task)
    return ran


def _pending_email_ids() -> list[int]:
    return [task.args[0] for task in huey.pending() if task.name == tasks.send_email.name]


def _latest_wake_up(email_id: int) -> datetime:
    """The latest eta of this email's send messages, queued or in Huey's schedule (aware UTC)."""
    etas = [
        task.eta
        for task in [*huey.pending(), *huey.scheduled()]
        if task.name == tasks.send_email.name and task.args == (email_id,) and task.eta
    ]
    return max(etas).replace(tzinfo=UTC)


def _email(db, email_id: int) -> OutboundEmail:
    db.session.expire_all()
    return db.session.get(OutboundEmail, email_id)


def _only_email(db) -> OutboundEmail:
    db.session.expire_all()
    (row,) = db.session.scalars(sa.select(OutboundEmail)).all()
    return row


def _user(notify_by: str = "email", **kwargs) -> User:
    user = factories.make_user("viewer", **kwargs)
    user.notify_by = notify_by
    factories.db.session.commit()
    return user


# ------------------------------------------------------------------ delivery


def test_a_notification_email_reaches_a_real_smtp_server_after_commit(app, db, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "STEWARD_BASE_URL", "https://steward.example.org")
    user = _user(email="reader@example.test")
    notify([user.id], subject="Travel policy published", body="Version 2 is live.", link="/p/1")
    assert _pending_email_ids() == []  # nothing reaches the queue before the commit
    db.session.commit()
    row = _only_email(db)
    assert _pending_email_ids() == [row.id]

    assert run_email_tasks() == 1
    [(recipients, message)] = smtp.received
    assert recipients == ["reader@example.test"]
    assert message["To"] == "reader@example.test"
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == "Travel policy published"
    notification_id = db.session.scalar(sa.select(Notification.id))
    assert message["Message-ID"] == f"<notification-{notification_id}@steward>"
    body = message.get_content()
    assert "Version 2 is live." in body
    # A mail reader has no page to resolve a relative link against.
    assert "Open in Steward: https://steward.example.org/p/1" in body
    assert "your account page: https://steward.example.org/account" in body
    row = _email(db, row.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None


def test_a_rolled_back_notification_sends_nothing(db, smtp):
    user = _user()
    notify([user.id], subject="Never happened")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0
    assert _pending_email_ids() == []
    assert run_email_tasks() == 0 and smtp.received == []


def test_duplicate_messages_send_the_email_once(db, smtp):
    user = _user()
    notify([user.id], subject="Once")
    db.session.commit()
    email_id = _only_email(db).id
    tasks.send_email(email_id)  # a reconciler re-sent it while the first was still waiting
    tasks.send_email(email_id)
    assert run_email_tasks() == 3
    assert len(smtp.received) == 1
    assert _email(db, email_id).attempts == 1


def test_a_workflow_notify_step_queues_one_email_per_recipient_keyed_by_the_step(db, users, smtp):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [
                step(
                    "tell",
                    "notify",
                    {
                        "to_owner": True,
                        "users": [users["viewer"].id],
                        "subject": "New: {{ policy.title }}",
                        "body": "Please read it.",
                    },
                )
            ]
        ],
    )
    factories.make_policy(users["owner"], title="Vendors")
    run_queued_steps()
    step_run_id = db.session.scalar(sa.select(Notification.step_run_id))
    rows = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)).all()
    assert sorted(row.message_key for row in rows) == sorted(
        f"step-run-{step_run_id}:user-{user.id}" for user in (users["owner"], users["viewer"])
    )
    assert run_email_tasks() == 2
    assert sorted(recipients[0] for recipients, _ in smtp.received) == [
        "owner@example.test",
        "viewer@example.test",
    ]
    assert {message["Subject"] for _, message in smtp.received} == {"New: Vendors"}
    assert {message["Message-ID"] for _, message in smtp.received} == {
        f"<step-run-{step_run_id}.user-{user.id}@steward>"
        for user in (users["owner"], users["viewer"])
    }


def test_without_a_mail_server_the_email_is_written_to_the_outbox_folder(app, db):
    assert not app.config["MAIL_SERVER"]
    user = _user(email="dev@example.test")
    notify([user.id], subject="Local only", body="Look in instance/outbox.")
    db.session.commit()
    assert run_email_tasks() == 1
    row = _only_email(db)
    assert row.status == "written" and row.attempts == 1
    path = Path(row.file_path)
    assert path.parent == Path(app.instance_path) / "outbox"
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "dev@example.test"
    assert message["Subject"] == "Local only"
    assert message["Message-ID"].startswith("<notification-")
    assert "Look in instance/outbox." in message.get_content()


def test_a_real_consumer_process_sends_the_email(app, db, smtp):
    user = _user(email="consumer@example.test")
    with running_consumer(
        app, workers=1, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(app.config["MAIL_PORT"])
    ) as consumer:
        notify([user.id], subject="Via the consumer")
        db.session.commit()
        deadline = time.monotonic() + 30
        while not smtp.received and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [recipients for recipients, _ in smtp.received] == [["consumer@example.test"]], (
        consumer.output()[-3000:]
    )
    assert _only_email(db).status == "sent"


# ------------------------------------------------------------------ retries and claims


def test_a_refused_connection_is_retried_with_growing_back_off_then_fails(db, refused_smtp):
    user = _user()
    notify([user.id], subject="Unlucky")
    db.session.commit()
    email_id = _only_email(db).id

    assert run_email_tasks() == 1
    row = _email(db, email_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "ConnectionRefusedError" in row.last_error
    # The wake-up message is scheduled for when the back-off ends, counted from the attempt.
    assert _latest_wake_up(email_id) == row.sent_at + timedelta(minutes=1)

    # A duplicate message before then finds nothing due: no second attempt.
    tasks.send_email(email_id)
    assert run_email_tasks() == 1
    assert _email(db, email_id).attempts == 1

    # The later attempts run at their due times (the row holds the back-off).
    delays = [_latest_wake_up(email_id) - row.sent_at]
    for attempt in range(2, outbox.MAX_ATTEMPTS + 1):
        due = outbox.next_attempt_at(row.attempts, row.sent_at)
        assert outbox.deliver(email_id, now=due - timedelta(seconds=1)) == "not-claimed"
        outcome = outbox.deliver(email_id, now=due)
        row = _email(db, email_id)
        assert row.attempts == attempt
        if attempt < outbox.MAX_ATTEMPTS:
            assert (outcome, row.status) == ("retry", "queued")
            delays.append(outbox.next_attempt_at(row.attempts, row.sent_at) - row.sent_at)
    assert delays == [timedelta(minutes=minutes) for minutes in (1, 2, 4, 8)]
    assert (outcome, row.status) == ("failed", "failed")
    assert "ConnectionRefusedError" in row.last_error
    # Failed means failed: a late message changes nothing.
    assert outbox.deliver(email_id, now=row.sent_at + timedelta(days=1)) == "not-claimed"
    assert _email(db, email_id).attempts == outbox.MAX_ATTEMPTS


def test_two_consumers_claim_the_same_email_once(db):
    user = _user()
    notify([user.id], subject="Contested")
    db.session.commit()
    email_id = _only_email(db).id
    now = utcnow()
    assert outbox.claim_email(email_id, now) is not None
    # The second consumer holds the same id at the same moment: the attempt is taken.
    assert outbox.claim_email(email_id, now) is None
    assert outbox.claim_email(email_id, now + timedelta(seconds=30)) is None
    assert _email(db, email_id).attempts == 1


def test_a_last_attempt_that_never_reported_back_marks_the_email_failed(db, smtp):
    user = _user()
    notify([user.id], subject="Orphaned")
    db.session.commit()
    row = _only_email(db)
    # The consumer running the fifth attempt died: the row still says queued.
    row.attempts, row.sent_at = outbox.MAX_ATTEMPTS, utcnow() - timedelta(days=1)
    db.session.commit()
    assert outbox.deliver(row.id) == "not-claimed"
    row = _email(db, row.id)
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert "did not finish" in row.last_error
    assert smtp.received == []


def test_the_reconciler_resends_only_lost_and_due_emails(db, smtp):
    user = _user()
    notify([user.id], subject="Lost in the queue")
    db.session.commit()
    row = _only_email(db)
    huey.flush()  # Redis restarted: the message is gone, the row is not
    assert outbox.resend_stale_emails(row.created_at + timedelta(seconds=30)) == 0  # too fresh
    later = row.created_at + timedelta(minutes=2)
    assert outbox.resend_stale_emails(later) == 1
    assert _pending_email_ids() == [row.id]
    # Its message is waiting again: another pass (or a second reconciler) does not pile on.
    assert outbox.resend_stale_emails(later) == 0
    assert run_email_tasks() == 1
    assert [recipients for recipients, _ in smtp.received] == [[user.email]]
    assert outbox.resend_stale_emails(later + timedelta(hours=1)) == 0  # sent: nothing to do


def test_the_reconciler_leaves_an_email_in_back_off_alone(db, refused_smtp):
    user = _user()
    notify([user.id], subject="Backing off")
    db.session.commit()
    run_email_tasks()
    huey.flush()
    row = _only_email(db)
    assert outbox.resend_stale_emails(row.sent_at + timedelta(seconds=59)) == 0
    assert outbox.resend_stale_emails(row.sent_at + timedelta(seconds=61)) == 1


# ------------------------------------------------------------------ preferences and digests


def test_each_user_is_emailed_as_they_chose(db):
    by_email, by_digest, in_app = _user("email"), _user("digest"), _user("in_app")
    disabled = _user("email", enabled=False)
    notify([by_email.id, by_digest.id, in_app.id, disabled.id], subject="For everyone")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 4
    assert db.session.scalars(sa.select(OutboundEmail.recipients)).all() == [by_email.email]

    # The daily digest goes to the digest user only; "in Steward only" never gets mail.
    assert send_due_digests(utcnow()) == 1
    db.session.commit()
    recipients = db.session.scalars(sa.select(OutboundEmail.recipients)).all()
    assert sorted(recipients) == sorted([by_email.email, by_digest.email])


def _notification_for(user, subject: str, *, hours_ago: float, link=None) -> None:
    factories.db.session.add(
        Notification(
            user_id=user.id,
            subject=subject,
            body=f"About {subject}",
            link=link,
            created_at=utcnow() - timedelta(hours=hours_ago),
        )
    )
    factories.db.session.commit()


def test_the_digest_lists_the_days_notifications_in_one_email_once(app, db, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "STEWARD_BASE_URL", "https://steward.example.org")
    user = _user("digest", email="digest@example.test")
    _notification_for(user, "Too old", hours_ago=30)
    _notification_for(user, "Policy approved", hours_ago=5, link="/policies/7")
    _notification_for(user, "Task assigned", hours_ago=2)
    quiet = _user("digest")  # nothing new: no digest
    _notification_for(quiet, "Long ago", hours_ago=48)
    now = utcnow()

    assert send_due_digests(now) == 1
    db.session.commit()
    assert send_due_digests(now) == 0  # the same pass again
    assert send_due_digests(now + timedelta(hours=1)) == 0  # not a day yet
    db.session.commit()

    assert run_email_tasks() == 1
    [(recipients, message)] = smtp.received
    assert recipients == ["digest@example.test"]
    since = now - timedelta(hours=24)
    assert message["Subject"] == f"Steward: 2 notifications since {since:%A}"
    body = message.get_content()
    assert body.index("Policy approved") < body.index("Task assigned")
    assert "Open in Steward: https://steward.example.org/policies/7" in body
    assert "Open in Steward: https://steward.example.org/notifications" in body
    assert "Too old" not in body
    db.session.expire_all()
    assert db.session.get(User, user.id).digest_sent_at == now
    assert db.session.get(User, quiet.id).digest_sent_at is None

    # A day later only what came after the last digest is listed.
    _notification_for(user, "Reminder", hours_ago=0)
    assert send_due_digests(utcnow() + timedelta(hours=25)) == 1
    db.session.commit()
    run_email_tasks()
    subjects = [message["Subject"] for _, message in smtp.received]
    assert subjects[1].startswith("Steward: 1 notification since ")
    assert "Reminder" in smtp.received[1][1].get_content()
    assert "Task assigned" not in smtp.received[1][1].get_content()


def test_two_reconcilers_claim_a_users_digest_once(db):
    user = _user("digest")
    now = utcnow()
    # Both read digest_sent_at = NULL; the conditional UPDATE lets only the first move it.
    assert claim_digest(user.id, None, now) is True
    assert claim_digest(user.id, None, now) is False
    assert claim_digest(user.id, now - timedelta(days=2), now + timedelta(days=1)) is False
    db.session.commit()


def test_a_user_who_switched_away_from_the_digest_gets_none(db):
    user = _user("digest")
    _notification_for(user, "Something", hours_ago=1)
    user.notify_by = "in_app"
    db.session.commit()
    assert send_due_digests(utcnow()) == 0


# ------------------------------------------------------------------ helpers for other code


def test_a_dedupe_key_queues_one_email_per_person_across_transactions(db):
    first, second = _user(), _user()
    notify([first.id], subject="Overdue", dedupe_key="escalation-request-9")
    db.session.commit()
    notify([first.id, second.id], subject="Overdue", dedupe_key="escalation-request-9")
    db.session.commit()
    keys = db.session.scalars(sa.select(OutboundEmail.message_key)).all()
    assert sorted(keys) == sorted(
        f"escalation-request-9:user-{user.id}" for user in (first, second)
    )


def test_notify_users_without_a_step_keeps_every_email(db):
    """Delegations and reminders notify without a step run: each call is its own event."""
    user = _user()
    notify_users([user.id], subject="Reminder", body="One")
    db.session.commit()
    notify_users([user.id], subject="Reminder", body="Two")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 2


def test_group_members_are_found_once_and_only_when_enabled(db):
    legal, audit = factories.make_group("Legal"), factories.make_group("Audit")
    both = factories.make_user("approver", groups=[legal, audit])
    only_legal = factories.make_user("approver", groups=[legal])
    factories.make_user("approver", groups=[legal], enabled=False)
    factories.make_user("approver")
    assert user_ids_of_groups([legal.id, audit.id]) == sorted([both.id, only_legal.id])
    assert user_ids_of_groups([]) == []
