"""The addresses that moved for issue 16 (the Inbox from /inbox to /approvals, exceptions from
/exceptions to /policy-exceptions) answer with a permanent redirect to the same page, the rest of
the path and the query string kept: 301 for a page, 308 for a form post, which repeats it."""

from __future__ import annotations

import pytest

MOVED = [
    ("GET", "/inbox", 301, "/approvals"),
    ("GET", "/inbox?tab=decided&due=day", 301, "/approvals?tab=decided&due=day"),
    ("HEAD", "/inbox?tab=overdue", 301, "/approvals?tab=overdue"),
    ("POST", "/inbox/bulk", 308, "/approvals/bulk"),
    ("GET", "/exceptions", 301, "/policy-exceptions"),
    ("GET", "/exceptions?status=active&policy=3", 301, "/policy-exceptions?status=active&policy=3"),
    ("GET", "/exceptions/7", 301, "/policy-exceptions/7"),
    ("POST", "/exceptions/7/revoke", 308, "/policy-exceptions/7/revoke"),
]


@pytest.mark.parametrize(("method", "old", "status", "new"), MOVED)
def test_an_old_address_redirects_permanently_to_its_new_one(client, method, old, status, new):
    response = client.open(old, method=method)
    assert response.status_code == status
    assert response.headers["Location"] == new


def test_a_form_post_to_an_old_address_is_sent_on_to_the_new_one(users, login):
    """A page still open from before the move posts to the old address: a 308 tells the client
    to send the same post to the new one, which checks its token as it always did."""
    owner = login(users["owner"])
    form = {"comment": "", "csrf_token": owner.csrf_token("/account")}
    moved = owner.post("/inbox/bulk", data=form)
    assert moved.status_code == 308
    # What a client does with a 308 (the test client cannot re-send a body it has read).
    answer = owner.post(moved.headers["Location"], data=form)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/approvals")
    page = owner.get("/approvals").get_data(as_text=True)
    assert "Select at least one request to approve." in page


def test_a_bookmark_of_the_old_inbox_opens_the_inbox(users, login):
    response = login(users["approver"]).get("/inbox?tab=decided", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/approvals"
    assert response.request.args["tab"] == "decided"
    assert "<title>Inbox" in response.get_data(as_text=True)


def test_a_notification_stored_with_an_old_link_links_to_the_new_page(users, db, as_role):
    """Links stored before the move are judged by the page they lead to now, and shown with its
    address: an exception the reader cannot open (here: none) stays plain text, as before."""
    from governance.notifications.service import notify

    notify([users["owner"].id], subject="Old inbox", link="/inbox?tab=waiting")
    notify([users["owner"].id], subject="Old exception", link="/exceptions/99999")
    db.session.commit()
    html = as_role("owner").get("/notifications").get_data(as_text=True)
    assert 'href="/approvals?tab=waiting">Old inbox' in html
    assert "Old exception" in html
    assert "/exceptions/99999" not in html
    assert "/policy-exceptions/99999" not in html
