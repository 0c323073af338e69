"""The arithmetic of approval rules and the due labels approvers read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governance.approvals.inbox import due_label
from governance.approvals.service import approvals_needed, step_outcome

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "quorum", "count", "needed"),
    [("any", 1, 3, 1), ("all", 1, 3, 3), ("quorum", 2, 3, 2), ("quorum", 5, 3, 3)],
)
def test_approvals_needed(rule, quorum, count, needed):
    assert approvals_needed({"rule": rule, "quorum": quorum}, count) == needed


@pytest.mark.parametrize(
    ("rule", "quorum", "count", "covered", "needed"),
    [
        # all: a request nobody can still decide (its deciders already counted) is not awaited.
        ("all", 1, 3, 1, 2),
        ("all", 1, 2, 1, 1),
        # a quorum is never lowered: N different people, or the step waits.
        ("quorum", 2, 2, 1, 2),
        ("any", 1, 2, 1, 1),
    ],
)
def test_approvals_needed_with_covered_requests(rule, quorum, count, covered, needed):
    assert approvals_needed({"rule": rule, "quorum": quorum}, count, covered) == needed


@pytest.mark.parametrize(
    ("needed", "statuses", "by_count", "outcome"),
    [
        # any: the first approval decides; one rejection rejects.
        (1, ["approved", "pending", "pending"], False, "approved"),
        (1, ["rejected", "pending", "pending"], False, "rejected"),
        # all: every approval, and still one rejection rejects.
        (3, ["approved", "approved", "pending"], False, "waiting"),
        (3, ["approved", "approved", "approved"], False, "approved"),
        (3, ["approved", "approved", "rejected"], False, "rejected"),
        # quorum 2 of 3.
        (2, ["approved", "pending", "pending"], False, "waiting"),
        (2, ["approved", "approved", "pending"], False, "approved"),
        (2, ["approved", "rejected", "pending"], False, "rejected"),
        # by count (majority): a rejection only rejects once the quorum is out of reach.
        (2, ["approved", "rejected", "pending"], True, "waiting"),
        (2, ["approved", "rejected", "approved"], True, "approved"),
        (2, ["rejected", "rejected", "pending"], True, "rejected"),
        (1, ["rejected", "pending"], True, "waiting"),
        (1, ["rejected", "rejected"], True, "rejected"),
        (3, ["approved", "rejected", "pending"], True, "rejected"),
    ],
)
def test_step_outcome(needed, statuses, by_count, outcome):
    assert step_outcome(needed, statuses, by_count=by_count) == outcome


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (timedelta(hours=3, minutes=20), "due in 3 h"),
        (timedelta(days=2, hours=5), "due in 2 d"),
        (timedelta(minutes=30), "due in 30 min"),
        (timedelta(seconds=20), "due in 1 min"),
        (-timedelta(days=2, hours=1), "overdue by 2 d"),
        (-timedelta(hours=5), "overdue by 5 h"),
    ],
)
def test_due_label(delta, label):
    assert due_label(NOW + delta, NOW) == label


def test_no_deadline():
    assert due_label(None, NOW) == "no deadline"
