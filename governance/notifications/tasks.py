"""The Huey task that sends one outbox email. It carries only the id; the row says the rest."""

from __future__ import annotations

from governance.extensions import db
from governance.notifications import outbox
from governance.notifications.models import OutboundEmail
from governance.queue import JobFailed, retry_later, task


# A fixed name (a consumer drops messages whose name it does not know). Attempts and back-off
# live in the outbox row, where a dead consumer cannot lose them; Huey carries the retry and
# reports it, so a failing mail server shows on the queue page.
@task(name=outbox.SEND_EMAIL, retries=0)
def send_email(email_id: int) -> str:
    outcome = outbox.deliver(email_id)
    if outcome in ("retry", "failed"):
        email = db.session.get_one(OutboundEmail, email_id)
        if outcome == "retry":
            due_at = outbox.next_attempt_at(email.attempts, email.sent_at)
            raise retry_later(email.last_error or "The email will be tried again.", due_at)
        raise JobFailed(email.last_error or "The email could not be sent.")
    return outcome
