"""Operational alerts against a real database: too many failed jobs, or work waiting with no
consumer alive. Admins hear of each once per window (in the app and by urgent email), hear
"resolved" once, and two evaluators at once notify once.

Time moves through the explicit `now` given to alerts.evaluate(); failures and heartbeats are
the counter and consumer rows the recorder and `flask worker` write.
"""

from __future__ import annotations

import email
import socket
import threading
from datetime import datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from governance import create_app
from governance.extensions import db as _db
from governance.extensions import huey
from governance.notifications.models import Notification, OutboundEmail
from governance.notifications.service import URGENT_FOOTER
from governance.queues import alerts
from governance.queues.models import Consumer, JobCounter, MonitorAlert
from governance.queues.recorder import minute_of
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_workflow, step

FAILING = "Alert: Jobs are failing"
STILL_FAILING = "Alert still firing: Jobs are failing"
FAILING_RESOLVED = "Resolved: Jobs are failing"
NO_CONSUMER = "Alert: No consumer is running"
NO_CONSUMER_RESOLVED = "Resolved: No consumer is running"


@pytest.fixture
def admins(db, users) -> dict:
    """Every admin, however they chose to be notified, and one whose account is disabled."""
    in_app = factories.make_user("admin", email="admin-in-app@example.test")
    digest = factories.make_user("admin", email="admin-digest@example.test")
    in_app.notify_by, digest.notify_by = "in_app", "digest"
    disabled = factories.make_user("admin", email="admin-gone@example.test", enabled=False)
    db.session.commit()
    return {"enabled": [users["admin"], in_app, digest], "disabled": disabled}


def record_failures(db, minute: datetime, count: int) -> None:
    """Failed jobs in that minute's counter, as the recorder counts them."""
    db.session.add(JobCounter(minute=minute_of(minute), task_name="steward.run_step", failed=count))
    db.session.commit()


def beat(db, now: datetime, consumer_id: str = "c1") -> None:
    """A consumer's heartbeat at `now`, as `flask worker` writes it."""
    consumer = db.session.get(Consumer, consumer_id)
    if consumer is None:
        factories.make_consumer(consumer_id, last_seen_at=now)
        return
    consumer.last_seen_at = now
    db.session.commit()


def deliver_queued_mail() -> None:
    """A consumer's work on the alert emails, so the queue is empty again."""
    # Asked first: RedisHuey's dequeue waits a second on an empty queue.
    while huey.pending_count() and (task := huey.dequeue()) is not None:
        huey.execute(task)


def evaluate(db, now: datetime) -> dict[str, bool]:
    states = alerts.evaluate(now)
    deliver_queued_mail()
    db.session.expire_all()
    return states


def notified(db, subject: str) -> list[int]:
    """Who got an in-app notification with this subject (user ids, sorted)."""
    return sorted(
        db.session.scalars(sa.select(Notification.user_id).where(Notification.subject == subject))
    )


def emailed(db, subject: str) -> list[str]:
    return sorted(
        db.session.scalars(
            sa.select(OutboundEmail.recipients).where(OutboundEmail.subject == subject)
        )
    )


def ids(people) -> list[int]:
    return sorted(person.id for person in people)


def emails(people) -> list[str]:
    return sorted(person.email for person in people)


def assert_told_once(db, subject: str, admins: dict) -> None:
    assert notified(db, subject) == ids(admins["enabled"])
    assert emailed(db, subject) == emails(admins["enabled"])


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(message_from(envelope.content))
        return "250 Message accepted for delivery"


def message_from(content: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(content, policy=policy.default)


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on a free local port, and the app pointed at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    try:
        yield mailbox
    finally:
        controller.stop()


def queue_a_step(users) -> None:
    """A workflow step waiting in the queue (no consumer runs it)."""
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )
    factories.make_policy(users["owner"])
    assert huey.pending_count() == 1


# ------------------------------------------------------------------ failed jobs


def test_failures_up_to_the_threshold_do_not_alert(app, db, admins):
    now = utcnow()
    threshold = app.config["ALERT_FAILURES_5MIN"]
    record_failures(db, now - timedelta(minutes=5), 50)  # before the five-minute window
    record_failures(db, now - timedelta(minutes=4), threshold - 1)
    record_failures(db, now, 1)

    assert evaluate(db, now) == {"job_failures": False, "no_consumer": False}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0


def test_too_many_failures_alert_every_admin_once_per_window_then_resolve_once(
    app, db, users, admins
):
    threshold = app.config["ALERT_FAILURES_5MIN"]
    window = timedelta(seconds=app.config["ALERT_WINDOW_SECONDS"])
    start = utcnow()
    record_failures(db, start - timedelta(minutes=2), threshold)
    record_failures(db, start, 1)

    assert evaluate(db, start)["job_failures"] is True

    assert_told_once(db, FAILING, admins)
    [mail] = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.recipients == "admin-digest@example.test")
    )
    assert f"{threshold + 1} jobs failed in the last 5 minutes" in mail.body
    assert URGENT_FOOTER in mail.body  # sent at once, whatever the digest setting
    [notification] = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == users["admin"].id)
    )
    assert notification.link == "/admin/queues"

    # Still failing within the window: nobody hears of it again.
    for minutes in (1, 30, 59):
        later = start + timedelta(minutes=minutes)
        record_failures(db, later, threshold + 1)
        assert evaluate(db, later)["job_failures"] is True
    assert_told_once(db, FAILING, admins)
    assert notified(db, STILL_FAILING) == []

    # A window later it still fires: one reminder, then quiet again.
    reminder_at = start + window + timedelta(minutes=1)
    record_failures(db, reminder_at, threshold + 1)
    assert evaluate(db, reminder_at)["job_failures"] is True
    assert evaluate(db, reminder_at + timedelta(seconds=30))["job_failures"] is True
    assert_told_once(db, STILL_FAILING, admins)
    assert_told_once(db, FAILING, admins)

    # Five quiet minutes later it clears: "resolved", once.
    cleared_at = reminder_at + timedelta(minutes=6)
    assert evaluate(db, cleared_at)["job_failures"] is False
    assert evaluate(db, cleared_at + timedelta(minutes=1))["job_failures"] is False
    assert_told_once(db, FAILING_RESOLVED, admins)
    alert = db.session.get(MonitorAlert, "job_failures")
    assert (alert.is_firing, alert.resolved_at) == (False, cleared_at)

    # Nobody else ever hears of it: not other roles, not a disabled admin.
    others = [user for role, user in users.items() if role != "admin"] + [admins["disabled"]]
    told = set(db.session.scalars(sa.select(Notification.user_id)))
    assert told == {admin.id for admin in admins["enabled"]}
    assert not told & {user.id for user in others}
    mailed = set(db.session.scalars(sa.select(OutboundEmail.recipients)))
    assert mailed == set(emails(admins["enabled"]))


def test_a_flapping_alert_is_told_at_most_once_per_window(app, db, admins):
    threshold = app.config["ALERT_FAILURES_5MIN"]
    window = timedelta(seconds=app.config["ALERT_WINDOW_SECONDS"])
    start = utcnow()
    record_failures(db, start, threshold + 1)
    evaluate(db, start)
    evaluate(db, start + timedelta(minutes=10))
    assert_told_once(db, FAILING, admins)
    assert_told_once(db, FAILING_RESOLVED, admins)

    # Firing again within the window: no second "firing", and so no second "resolved".
    flap = start + timedelta(minutes=20)
    record_failures(db, flap, threshold + 1)
    assert evaluate(db, flap)["job_failures"] is True
    assert evaluate(db, flap + timedelta(minutes=10))["job_failures"] is False
    assert_told_once(db, FAILING, admins)
    assert_told_once(db, FAILING_RESOLVED, admins)

    # Firing again after the window: told again, as a new alert.
    again = start + window + timedelta(minutes=1)
    record_failures(db, again, threshold + 1)
    assert evaluate(db, again)["job_failures"] is True
    assert notified(db, FAILING) == sorted(ids(admins["enabled"]) * 2)
    assert notified(db, STILL_FAILING) == []


# ------------------------------------------------------------------ no consumer


def test_no_consumer_alive_while_work_waits_alerts_until_a_consumer_beats(db, users, admins):
    start = utcnow()
    # No consumer, but nothing waits either: nothing to say.
    assert evaluate(db, start)["no_consumer"] is False
    queue_a_step(users)

    assert alerts.evaluate(start)["no_consumer"] is True
    assert alerts.evaluate(start + timedelta(seconds=5))["no_consumer"] is True

    assert_told_once(db, NO_CONSUMER, admins)
    [notification] = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == users["admin"].id)
    )
    assert "no consumer has sent a fresh heartbeat" in notification.body
    # A consumer silent for a minute is not alive: still firing, still told only once.
    beat(db, start - timedelta(minutes=1))
    assert alerts.evaluate(start + timedelta(seconds=10))["no_consumer"] is True
    assert_told_once(db, NO_CONSUMER, admins)

    back = start + timedelta(seconds=20)
    beat(db, back)
    assert alerts.evaluate(back)["no_consumer"] is False
    assert alerts.evaluate(back + timedelta(seconds=1))["no_consumer"] is False

    assert_told_once(db, NO_CONSUMER_RESOLVED, admins)
    assert huey.pending_count() > 0  # the work still waits, but a consumer will take it


def test_the_no_consumer_alert_email_goes_out_without_waiting_for_a_consumer(
    db, users, admins, smtp
):
    """No consumer is alive, so none will take the alert's send message from the queue: the
    email must leave from the process that noticed."""
    queue_a_step(users)

    assert alerts.evaluate(utcnow())["no_consumer"] is True

    assert sorted(message["To"] for message in smtp.received) == emails(admins["enabled"])
    assert {message["Subject"] for message in smtp.received} == {NO_CONSUMER}
    db.session.expire_all()
    assert set(
        db.session.scalars(
            sa.select(OutboundEmail.status).where(OutboundEmail.subject == NO_CONSUMER)
        )
    ) == {"sent"}
    # The send messages that also went to the queue find nothing left to send.
    deliver_queued_mail()
    assert len(smtp.received) == len(admins["enabled"])


# ------------------------------------------------------------------ two evaluators at once


def evaluate_twice_at_once(app, now: datetime) -> list[str]:
    """Two evaluators (consumers' heartbeats, web workers) at the same moment."""
    results: list[str] = []
    barrier = threading.Barrier(2)

    def run(offset_ms: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                alerts.evaluate(now + timedelta(milliseconds=offset_ms))
                results.append("ok")
            except Exception as error:  # SQLite may refuse the second writer outright
                _db.session.rollback()
                results.append(type(error).__name__)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(offset,)) for offset in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_evaluations_at_once_notify_once(app, db, admins):
    threshold = app.config["ALERT_FAILURES_5MIN"]
    start = utcnow()
    alerts.evaluate(start - timedelta(minutes=10))  # the alert rows exist, not firing
    record_failures(db, start, threshold + 1)

    fired = evaluate_twice_at_once(app, start)
    cleared = evaluate_twice_at_once(app, start + timedelta(minutes=10))

    db.session.expire_all()
    if db.engine.dialect.name == "postgresql":  # row locks: the second waits, then sees it
        assert fired == cleared == ["ok", "ok"]
    else:
        assert "ok" in fired and "ok" in cleared
    assert_told_once(db, FAILING, admins)
    assert_told_once(db, FAILING_RESOLVED, admins)


def test_two_first_evaluations_at_once_notify_once(app, db, admins):
    """The very first evaluation also creates the alert rows: two at once must not clash."""
    start = utcnow()
    record_failures(db, start, app.config["ALERT_FAILURES_5MIN"] + 1)

    results = evaluate_twice_at_once(app, start)

    db.session.expire_all()
    if db.engine.dialect.name == "postgresql":
        assert results == ["ok", "ok"]
    else:
        assert "ok" in results
    assert_told_once(db, FAILING, admins)


# ------------------------------------------------------------------ the web app's check


def test_the_web_app_evaluates_alerts_after_a_response_when_configured(app, db, users, admins):
    queue_a_step(users)  # work waits, and no consumer is alive
    # The test app (WEB_ALERT_CHECK_SECONDS=0) never evaluates after a response.
    quiet = app.test_client().get("/health")
    quiet.close()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonitorAlert)) == 0

    web = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "WEB_ALERT_CHECK_SECONDS": 3600,
        }
    )
    try:
        client = web.test_client()
        response = client.get("/health")
        assert response.status_code == 200
        db.session.expire_all()
        assert notified(db, NO_CONSUMER) == []  # not before the response has gone out
        response.close()  # what the WSGI server does once the response is sent

        db.session.expire_all()
        assert_told_once(db, NO_CONSUMER, admins)

        # The next check is an hour away: a consumer coming back is not noticed by this
        # process yet (consumers evaluate with every heartbeat).
        beat(db, utcnow())
        client.get("/health").close()
        db.session.expire_all()
        assert notified(db, NO_CONSUMER_RESOLVED) == []
        assert db.session.get(MonitorAlert, "no_consumer").is_firing is True
    finally:
        with web.app_context():
            _db.engine.dispose()
