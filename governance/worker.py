"""The consumer's entry point: `huey_consumer governance.worker.huey` (or `flask worker`).

Importing this module registers every task with the huey instance, and tells the queue how a
consumer builds its app.
"""

from __future__ import annotations

from governance import (
    create_app,
    maintenance,  # noqa: F401  (registers its tasks)
    queue,
)
from governance.acknowledgements import jobs as ack_jobs  # noqa: F401
from governance.audit import jobs as audit_jobs  # noqa: F401  (checkpoints)
from governance.engine import jobs  # noqa: F401
from governance.evidence import jobs as evidence_jobs  # noqa: F401
from governance.extensions import huey
from governance.notifications import tasks as email_tasks  # noqa: F401
from governance.policy_exceptions import jobs as exception_jobs  # noqa: F401
from governance.queues import housekeeping, recorder  # noqa: F401  (signals, pruning)
from governance.reviews import jobs as review_jobs  # noqa: F401

queue.set_app_factory(create_app)

__all__ = ["huey"]
