"""A real delivery of the outbound webhook step, verified as a receiver would: with the
`standardwebhooks` reference package and the secret an admin reads from the API, before and
during a rotation's grace period and after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook, WebhookVerificationError

from governance.engine.models import Workflow
from governance.timeutil import utcnow
from governance.webhooks.signing import new_signing_secret
from tests import factories


@pytest.fixture
def delivering_workflow(app, users, receiver):
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    workflow = factories.make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[factories.step("hook", "webhook", {"url": receiver.url("/steward")})]],
    )
    yield workflow
    app.config["WEBHOOK_ALLOWLIST"] = []


def _deliver(users, receiver):
    """Create a policy (the trigger), run the webhook step for real, return what arrived."""
    before = len(receiver.requests)
    factories.make_policy(users["owner"])
    factories.run_queued_steps()
    [request] = receiver.requests[before:]
    return request


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_a_real_delivery_verifies_with_the_secret_from_the_api_and_a_changed_body_does_not(
    api_as, users, receiver, delivering_workflow
):
    request = _deliver(users, receiver)
    secret = (
        api_as("admin").get(f"workflows/{delivering_workflow.id}/signing-secret").json["secret"]
    )

    payload = Webhook(secret).verify(request.body, request.headers)

    assert payload["step"] == "hook"
    assert request.headers["webhook-id"] == payload["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b'"hook"', b'"HOOK"'), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(request.body, request.headers)


def test_during_a_rotations_grace_both_secrets_verify_and_afterwards_only_the_new_one(
    api_as, db, users, receiver, delivering_workflow
):
    client = api_as("admin")
    url = f"workflows/{delivering_workflow.id}/signing-secret"
    old = client.get(url).json["secret"]

    rotated = client.post(f"{url}/rotate", json={"grace_hours": 24})
    assert rotated.status_code == 200, rotated.json
    new = rotated.json["secret"]
    assert new != old and rotated.json["previous_secret"] == old

    during = _deliver(users, receiver)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(old, during.body, during.headers)
    assert _verifies(new, during.body, during.headers)

    # The grace period ends (as if 24 hours went by): only the new secret signs.
    db.session.execute(
        sa.update(Workflow)
        .where(Workflow.id == delivering_workflow.id)
        .values(previous_signing_secret_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    after = _deliver(users, receiver)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(new, after.body, after.headers)
    assert not _verifies(old, after.body, after.headers)
    assert client.get(url).json == {
        "secret": new,
        "previous_secret": None,
        "previous_expires_at": None,
    }


def test_a_rotation_without_grace_stops_the_old_secret_at_once(
    api_as, users, receiver, delivering_workflow
):
    client = api_as("admin")
    url = f"workflows/{delivering_workflow.id}/signing-secret"
    old = client.get(url).json["secret"]

    new = client.post(f"{url}/rotate", json={"grace_hours": 0}).json["secret"]

    request = _deliver(users, receiver)
    assert _verifies(new, request.body, request.headers)
    assert not _verifies(old, request.body, request.headers)
