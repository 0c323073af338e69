"""The Huey task that sends one outbox email. It carries only the id; the row says the rest."""

from __future__ import annotations

from governance.notifications import outbox
from governance.queue import task


# A fixed name (a consumer drops messages whose name it does not know) and no Huey retries:
# attempts and back-off live in the outbox row, where a dead consumer cannot lose them.
@task(name="steward.send_email", retries=0)
def send_email(email_id: int) -> None:
    outbox.deliver(email_id)
