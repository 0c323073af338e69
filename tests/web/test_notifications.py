"""Notifications through HTTP: marking read in place with htmx, Open links, the notification
setting on the account page, and the admin's outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.auth.models import User
from governance.extensions import db as _db
from governance.extensions import huey
from governance.notifications import outbox
from governance.notifications.models import Notification, OutboundEmail
from governance.notifications.tasks import send_email
from governance.timeutil import utcnow

HTMX = {"HX-Request": "true"}


def _notification(user, subject: str, *, link=None, read=False) -> Notification:
    notification = Notification(
        user_id=user.id,
        subject=subject,
        body=f"About {subject}",
        link=link,
        read_at=utcnow() if read else None,
    )
    _db.session.add(notification)
    _db.session.commit()
    return notification


def _email(subject: str, *, status="queued", minutes_ago=0, body="Hello", error=None):
    row = OutboundEmail(
        message_key=f"test-{subject}",
        recipients="someone@example.test",
        subject=subject,
        body=body,
        status=status,
        attempts=outbox.MAX_ATTEMPTS if status == "failed" else 0,
        last_error=error,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    _db.session.add(row)
    _db.session.commit()
    return row


def _fresh(db, model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _pending_send_ids() -> list[int]:
    return [task.args[0] for task in huey.pending() if task.name == send_email.name]


# ------------------------------------------------------------------ the notifications page


def test_marking_read_with_htmx_replaces_the_row_and_the_nav_badge(as_role, users, db):
    first = _notification(users["owner"], "First", link="/policies")
    _notification(users["owner"], "Second")
    client = as_role("owner")
    token = client.csrf_token("/notifications")
    response = client.post(
        f"/notifications/{first.id}/read", data={"csrf_token": token}, headers=HTMX
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="notification-{first.id}" class="notification">')
    assert "Mark read" not in html and "<html" not in html
    assert 'id="nav-notification-count" hx-swap-oob="true"' in html
    assert '<span class="nav-badge nav-unread">1</span>' in html
    assert _fresh(db, Notification, first.id).read_at is not None


def test_the_mark_read_form_targets_its_own_row_and_works_without_javascript(as_role, users, db):
    note = _notification(users["owner"], "Plain")
    client = as_role("owner")
    html = client.get("/notifications").get_data(as_text=True)
    assert f'hx-post="/notifications/{note.id}/read"' in html
    assert f'hx-target="#notification-{note.id}" hx-swap="outerHTML"' in html
    response = client.submit(f"/notifications/{note.id}/read", token_from="/notifications")
    assert response.status_code == 303 and response.headers["Location"] == "/notifications"


def test_marking_read_with_htmx_needs_a_csrf_token(as_role, users, db):
    note = _notification(users["owner"], "Guarded")
    response = as_role("owner").post(f"/notifications/{note.id}/read", headers=HTMX)
    assert response.status_code == 400
    assert _fresh(db, Notification, note.id).read_at is None


def test_someone_elses_notification_is_not_marked_read_with_htmx_either(as_role, users, db):
    theirs = _notification(users["approver"], "Private")
    client = as_role("owner")
    token = client.csrf_token("/notifications")
    response = client.post(
        f"/notifications/{theirs.id}/read", data={"csrf_token": token}, headers=HTMX
    )
    # Not 403, which would tell that it exists: the same 404 as for no notification at all.
    assert response.status_code == 404
    assert "Private" not in response.get_data(as_text=True)
    assert _fresh(db, Notification, theirs.id).read_at is None


def test_each_notification_has_an_open_link_to_its_object_when_safe(as_role, users, db):
    _notification(users["owner"], "Inside", link="/approvals")
    _notification(users["owner"], "Outside", link="https://evil.example/")
    _notification(users["owner"], "Nowhere")
    html = as_role("owner").get("/notifications").get_data(as_text=True)
    assert html.count(">Open<") == 1
    assert '<a class="button small" href="/approvals">Open' in html
    assert "evil.example" not in html


# ------------------------------------------------------------------ the account page setting


def test_the_account_page_offers_the_three_ways_with_mine_chosen(as_role, users, db):
    html = as_role("viewer").get("/account").get_data(as_text=True)
    for label in ("Email for every notification", "One daily digest email", "In Steward only"):
        assert label in html
    assert 'checked id="notify_by-0" name="notify_by" required type="radio" value="email"' in html
    assert 'action="/account/notifications"' in html
    assert "Change password" in html


def test_choosing_the_digest_saves_it_and_starts_the_window(as_role, users, db):
    client = as_role("viewer")
    response = client.submit(
        "/account/notifications", {"notify_by": "digest"}, token_from="/account"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    html = client.get("/account").get_data(as_text=True)
    assert "Saved: you will get one digest email a day" in html
    assert 'checked id="notify_by-1" name="notify_by" required type="radio" value="digest"' in html
    user = _fresh(db, User, users["viewer"].id)
    assert user.notify_by == "digest" and user.digest_sent_at is not None


def test_choosing_in_app_only_saves_it(as_role, users, db):
    as_role("viewer").submit(
        "/account/notifications", {"notify_by": "in_app"}, token_from="/account"
    )
    assert _fresh(db, User, users["viewer"].id).notify_by == "in_app"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("carrier-pigeon", "Choose one of the offered ways to be notified."),
        ("", "Choose how you want to be notified."),
    ],
)
def test_a_bad_notification_choice_is_refused_with_a_message(as_role, users, db, value, message):
    client = as_role("viewer")
    response = client.submit("/account/notifications", {"notify_by": value}, token_from="/account")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "Change password" in html  # the whole account page, both forms
    assert _fresh(db, User, users["viewer"].id).notify_by == "email"


def test_the_notification_setting_needs_a_csrf_token_and_a_login(client, as_role, users, db):
    response = as_role("viewer").post("/account/notifications", data={"notify_by": "in_app"})
    assert response.status_code == 400
    anonymous = client.post(
        "/account/notifications",
        data={"notify_by": "in_app", "csrf_token": client.csrf_token("/login")},
    )
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert _fresh(db, User, users["viewer"].id).notify_by == "email"


def test_the_password_form_ignores_the_notification_setting(as_role, users, db):
    client = as_role("viewer")
    response = client.submit(
        "/account",
        {"current_password": "wrong", "new_password": "x" * 12, "confirm": "x" * 12},
    )
    html = response.get_data(as_text=True)
    assert "Choose how you want to be notified." not in html
    assert 'checked id="notify_by-0"' in html


# ------------------------------------------------------------------ the outbox


def test_the_outbox_lists_emails_newest_first_with_their_state(as_role, users, db):
    _email("Oldest", status="sent", minutes_ago=30)
    _email("Broken", status="failed", minutes_ago=20, error="ConnectionRefusedError: no")
    _email("Newest", minutes_ago=1)
    html = as_role("admin").get("/admin/outbox").get_data(as_text=True)
    assert html.index("Newest") < html.index("Broken") < html.index("Oldest")
    assert "3 emails, newest first" in html
    assert "someone@example.test" in html
    assert "ConnectionRefusedError: no" in html
    assert html.count("Send again") == 1  # only the failed one


def test_the_outbox_is_paginated(as_role, users, db):
    for number in range(51):
        _email(f"Mail {number:02d}", minutes_ago=number)
    client = as_role("admin")
    first = client.get("/admin/outbox").get_data(as_text=True)
    assert "Mail 00" in first and "Mail 50" not in first and 'rel="next"' in first
    second = client.get("/admin/outbox?page=2", headers=HTMX).get_data(as_text=True)
    assert "Mail 50" in second and "Mail 00" not in second
    assert second.lstrip().startswith('<section id="outbox-list">')


def test_an_email_page_shows_its_body_escaped(as_role, users, db):
    row = _email("Hi", body="<script>alert(1)</script>\nSecond line")
    html = as_role("admin").get(f"/admin/outbox/{row.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "Second line" in html
    assert as_role("admin").get("/admin/outbox/99999").status_code == 404


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_see_the_outbox(as_role, users, db, role):
    row = _email("Private", status="failed")
    client = as_role(role)
    assert client.get("/admin/outbox").status_code == 403
    assert client.get(f"/admin/outbox/{row.id}").status_code == 403
    token = client.csrf_token("/account")
    response = client.post(f"/admin/outbox/{row.id}/send-again", data={"csrf_token": token})
    assert response.status_code == 403
    assert _fresh(db, OutboundEmail, row.id).status == "failed"


def test_anonymous_visitors_are_sent_to_login(client, db):
    response = client.get("/admin/outbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_admin_sends_a_failed_email_again(as_role, users, db):
    row = _email("Retry me", status="failed", error="SMTPServerDisconnected")
    client = as_role("admin")
    response = client.submit(
        f"/admin/outbox/{row.id}/send-again",
        token_from=f"/admin/outbox/{row.id}",
        follow_redirects=True,
    )
    assert "“Retry me” is queued to be sent again." in response.get_data(as_text=True)
    again = _fresh(db, OutboundEmail, row.id)
    assert (again.status, again.attempts, again.sent_at) == ("queued", 0, None)
    assert _pending_send_ids() == [row.id]
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "email.resent"))
    assert [(e.actor_id, e.object_id) for e in events] == [(users["admin"].id, row.id)]


def test_only_a_failed_email_can_be_sent_again(as_role, users, db):
    row = _email("Already out", status="sent")
    response = as_role("admin").submit(
        f"/admin/outbox/{row.id}/send-again",
        token_from=f"/admin/outbox/{row.id}",
        follow_redirects=True,
    )
    assert "Only a failed email can be sent again; this one is sent." in response.get_data(
        as_text=True
    )
    assert _fresh(db, OutboundEmail, row.id).status == "sent"
    assert _pending_send_ids() == []
    missing = as_role("admin").submit("/admin/outbox/99999/send-again", token_from="/admin/outbox")
    assert missing.status_code == 404


def test_send_again_needs_a_csrf_token_and_a_post(as_role, users, db):
    row = _email("Guarded", status="failed")
    client = as_role("admin")
    assert client.post(f"/admin/outbox/{row.id}/send-again").status_code == 400
    assert client.get(f"/admin/outbox/{row.id}/send-again").status_code == 405
    assert _fresh(db, OutboundEmail, row.id).status == "failed"
