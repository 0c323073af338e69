"""The inbound webhook trigger (POST /hooks/<id>): Standard Webhooks signatures, the replay
window, the legacy X-Steward-Signature switch, the body schema and the size limit, and every
refusal in the API's JSON error shape, through HTTP."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from governance.api.schemas import ErrorBody
from governance.audit.models import AuditEvent
from governance.engine.models import Execution, Workflow
from governance.timeutil import utcnow
from governance.web.problems import CODES
from governance.webhooks.signing import (
    inbound_signature,
    new_signing_secret,
    standard_webhook_headers,
)
from governance.workflows import inbound
from governance.workflows.models import InboundWebhookMessage
from tests import factories
from tests.factories import count_rows, make_hook_workflow, signed_hook_headers


def _nothing_written(db) -> bool:
    return count_rows(db, Execution) == 0 and count_rows(db, InboundWebhookMessage) == 0


@pytest.fixture
def hook(users):
    return make_hook_workflow(users["admin"], users["owner"])


def _post(client, workflow, body: bytes, headers: dict[str, str]):
    return client.post(f"/hooks/{workflow.id}", data=body, headers=headers)


# ------------------------------------------------------------------ Standard Webhooks


def test_a_call_signed_by_the_standardwebhooks_package_starts_an_execution(client, hook, db):
    body = json.dumps({"reason": "ci", "count": 3}).encode()
    headers = signed_hook_headers(hook.webhook_secret, body, message_id="msg_first")

    response = _post(client, hook, body, headers)

    assert response.status_code == 202, response.get_json()
    execution = db.session.get(Execution, response.get_json()["execution_id"])
    assert execution.trigger_data == {"reason": "ci", "count": 3}
    assert execution.trigger_type == "webhook"
    [seen] = db.session.scalars(sa.select(InboundWebhookMessage)).all()
    assert (seen.workflow_id, seen.message_id, seen.execution_id) == (
        hook.id,
        "msg_first",
        execution.id,
    )


def test_a_replayed_request_is_refused_with_409_and_starts_no_second_execution(client, hook, db):
    body = b'{"reason": "deploy"}'
    headers = signed_hook_headers(hook.webhook_secret, body)
    assert _post(client, hook, body, headers).status_code == 202

    replay = _post(client, hook, body, headers)

    assert replay.status_code == 409
    assert "replay" in replay.get_json()["error"]["message"]
    assert count_rows(db, Execution) == 1
    assert count_rows(db, InboundWebhookMessage) == 1


def test_the_same_message_id_sent_to_another_workflow_is_not_a_replay(client, hook, users, db):
    other = make_hook_workflow(users["admin"], users["owner"])
    body = b"{}"
    for workflow in (hook, other):
        headers = signed_hook_headers(workflow.webhook_secret, body, message_id="msg_shared")
        assert _post(client, workflow, body, headers).status_code == 202
    assert count_rows(db, Execution) == 2


def test_two_simultaneous_copies_of_one_request_start_one_execution(app, hook, db):
    body = b'{"reason": "race"}'
    headers = signed_hook_headers(hook.webhook_secret, body)
    statuses: list[int] = []
    start = threading.Barrier(2)

    def send():
        client = app.test_client()
        start.wait()
        with app.app_context():
            statuses.append(
                client.post(f"/hooks/{hook.id}", data=body, headers=headers).status_code
            )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [202, 409]
    assert count_rows(db, Execution) == 1


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-1)]
)
def test_a_timestamp_outside_five_minutes_is_refused_even_when_signed(client, hook, db, offset):
    body = b"{}"
    moment = datetime.now(UTC) + offset
    headers = signed_hook_headers(hook.webhook_secret, body, timestamp=moment)

    response = _post(client, hook, body, headers)

    assert response.status_code == 401
    message = response.get_json()["error"]["message"]
    assert "webhook-timestamp" in message and "5 minutes" in message
    assert _nothing_written(db)


def test_a_timestamp_a_few_minutes_off_is_accepted(client, hook, db):
    body = b"{}"
    moment = datetime.now(UTC) - timedelta(minutes=4)
    headers = signed_hook_headers(hook.webhook_secret, body, timestamp=moment)

    assert _post(client, hook, body, headers).status_code == 202


def _with(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    changed = {name.replace("_", "-"): value for name, value in changes.items()}
    return {k: v for k, v in (headers | changed).items() if v is not None}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"webhook_id": None}, "webhook-id"),
        ({"webhook_id": "x" * 256}, "webhook-id"),
        ({"webhook_id": "msg with spaces"}, "webhook-id"),
        ({"webhook_timestamp": None}, "webhook-timestamp"),
        ({"webhook_timestamp": "soon"}, "webhook-timestamp"),
        ({"webhook_timestamp": "-5"}, "webhook-timestamp"),
        ({"webhook_timestamp": "1" * 40}, "webhook-timestamp"),
        ({"webhook_signature": "v1,AAAA"}, "webhook-signature"),
        ({"webhook_signature": "v1,not base64!"}, "webhook-signature"),
        ({"webhook_id": "msg_another_id"}, "webhook-signature"),
        ({"webhook_signature": None}, "Sign the request"),
    ],
)
def test_a_request_with_wrong_or_missing_signature_headers_is_refused(
    client, hook, db, change, words
):
    body = b'{"reason": "x"}'
    headers = _with(signed_hook_headers(hook.webhook_secret, body), **change)

    response = _post(client, hook, body, headers)

    assert response.status_code == 401
    assert words in response.get_json()["error"]["message"]
    assert _nothing_written(db)


def test_a_changed_body_or_another_secret_does_not_verify(client, hook, db):
    headers = signed_hook_headers(hook.webhook_secret, b'{"amount": 1}')
    stranger = signed_hook_headers(new_signing_secret(), b"{}")
    for body, signed in ((b'{"amount": 100}', headers), (b"{}", stranger)):
        response = _post(client, hook, body, signed)
        assert response.status_code == 401
        assert "webhook-signature does not match" in response.get_json()["error"]["message"]
    assert _nothing_written(db)


# ------------------------------------------------------------------ the legacy switch


def _legacy(workflow, body: bytes) -> dict[str, str]:
    return {"X-Steward-Signature": inbound_signature(workflow.webhook_secret, body)}


def test_a_new_workflow_refuses_x_steward_signature(client, hook, db):
    body = b'{"reason": "old caller"}'

    response = _post(client, hook, body, _legacy(hook, body))

    assert response.status_code == 401
    assert "turned off" in response.get_json()["error"]["message"]
    assert not hook.webhook_legacy_signature
    assert _nothing_written(db)


def test_an_admin_turns_the_legacy_switch_on_and_off_on_the_workflow_page(
    client, as_role, hook, db
):
    page = f"/workflows/{hook.id}"
    admin = as_role("admin")
    assert "is <strong>refused</strong>" in admin.get(page).get_data(as_text=True)
    body = b'{"reason": "old caller"}'

    on = admin.submit(f"{page}/legacy-signature", {"enabled": "on"}, token_from=page)
    assert on.status_code == 303
    assert _post(client, hook, body, _legacy(hook, body)).status_code == 202
    wrong = {"X-Steward-Signature": "sha256=" + "0" * 64}
    assert _post(client, hook, body, wrong).status_code == 401
    html = admin.get(page).get_data(as_text=True)
    assert "is <strong>accepted</strong>" in html and "X-Steward-Signature: sha256=" in html

    off = admin.submit(f"{page}/legacy-signature", {"enabled": "off"}, token_from=page)
    assert off.status_code == 303
    assert _post(client, hook, body, _legacy(hook, body)).status_code == 401
    assert count_rows(db, Execution) == 1
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.like("workflow.legacy%"))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["workflow.legacy_signature_enabled", "workflow.legacy_signature_disabled"]


def test_only_an_admin_with_the_csrf_token_flips_the_legacy_switch(as_role, hook, db):
    url = f"/workflows/{hook.id}/legacy-signature"
    for role in ("viewer", "owner", "approver"):
        refused = as_role(role).submit(url, {"enabled": "on"}, token_from="/account")
        assert refused.status_code == 403
    assert as_role("admin").post(url, data={"enabled": "on"}).status_code == 400
    assert (
        as_role("admin")
        .submit(url, {"enabled": "maybe"}, token_from=f"/workflows/{hook.id}")
        .status_code
        == 400
    )
    db.session.expire_all()
    assert not db.session.get(Workflow, hook.id).webhook_legacy_signature


# ------------------------------------------------------------------ the body


@pytest.mark.parametrize(
    "body",
    [
        b'{"policy_id": true}',
        b'{"policy_id": "1"}',
        b'{"policy_id": 1.0}',
        b'{"policy_id": 0}',
        b'{"policy_id": 9223372036854775808}',
        b'{"reason": "nul \\u0000 inside"}',
        b'{"reason": "lone \\ud83d surrogate"}',
        b'{"reason": "\xed\xa0\xbd raw surrogate bytes"}',
        b'{"reason": "\xff not utf-8"}',
        b'{"n": NaN}',
        b'{"n": 1e999}',
        b'{"a": 1, "a": 2}',
        b'{"a": ' * 21 + b"1" + b"}" * 21,
        b'{"a": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b"not json",
        b"[1, 2]",
    ],
)
def test_a_signed_body_outside_the_schema_is_refused_with_400_before_anything_is_written(
    client, hook, db, body
):
    headers = standard_webhook_headers(hook.webhook_secret, "msg_body", int(time.time()), body)

    response = _post(client, hook, body, headers)

    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["message"]
    assert _nothing_written(db)
    # Refused before the id was remembered: the caller may send it again, corrected.
    assert count_rows(db, InboundWebhookMessage) == 0


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_64_kb_is_413_and_starts_nothing(client, hook, db, declared):
    body = b'{"x": "' + b"a" * 70_000 + b'"}'
    headers = standard_webhook_headers(hook.webhook_secret, "msg_big", int(time.time()), body)
    # Without a Content-Length (chunked, which the server marks as a terminated input), the
    # size is known only once the body is read.
    sent = (
        {"data": body}
        if declared
        else {
            "input_stream": io.BytesIO(body),
            "environ_overrides": {"wsgi.input_terminated": True},
        }
    )

    response = client.post(f"/hooks/{hook.id}", headers=headers, **sent)

    assert response.status_code == 413
    assert response.get_json()["error"] == {
        "code": "too_large",
        "message": "The body is larger than 64 KB.",
        "details": [],
    }
    assert _nothing_written(db)


@pytest.mark.parametrize("policy_id", [99_999, 2**31 - 1, 2**31, 2**40, 2**63 - 1])
def test_a_policy_id_that_names_no_policy_is_422_even_beyond_the_columns_range(
    client, hook, db, caplog, policy_id
):
    body = json.dumps({"policy_id": policy_id}).encode()

    with caplog.at_level(logging.ERROR):
        response = _post(client, hook, body, signed_hook_headers(hook.webhook_secret, body))

    assert response.status_code == 422
    message = "policy_id does not name an existing policy."
    assert response.get_json()["error"] == {
        "code": "validation_failed",
        "message": message,
        "details": [{"field": "policy_id", "message": message}],
    }
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert _nothing_written(db)


def test_a_policy_id_starts_the_execution_for_that_policy(client, hook, users, db):
    policy = factories.make_policy(users["owner"])
    body = json.dumps({"policy_id": policy.id}).encode()

    response = _post(client, hook, body, signed_hook_headers(hook.webhook_secret, body))

    assert response.status_code == 202
    assert db.session.get(Execution, response.get_json()["execution_id"]).policy_id == policy.id


def test_text_in_the_body_is_stored_normalised_to_nfc(client, hook, db):
    body = b'{"name": "Rene\\u0301", "tags": ["cafe\\u0301"]}'

    response = _post(client, hook, body, signed_hook_headers(hook.webhook_secret, body))

    assert response.status_code == 202
    trigger = db.session.get(Execution, response.get_json()["execution_id"]).trigger_data
    assert trigger == {"name": "René", "tags": ["café"]}


@pytest.mark.parametrize(
    "path", ["/hooks/2147483648", "/hooks/9223372036854775808", "/hooks/99999999999999999999"]
)
def test_a_workflow_id_beyond_the_columns_range_is_404_without_a_traceback(
    client, hook, db, caplog, path
):
    with caplog.at_level(logging.ERROR):
        response = client.post(path, data=b"{}", headers={"webhook-signature": "v1,AAAA"})

    assert response.status_code == 404
    assert response.get_json()["error"]["message"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_an_unknown_or_inactive_workflow_is_404(client, users, db):
    inactive = make_hook_workflow(users["admin"], users["owner"], activate=False)
    body = b"{}"
    for workflow_id in (4242, inactive.id):
        headers = signed_hook_headers(inactive.webhook_secret, body)
        assert client.post(f"/hooks/{workflow_id}", data=body, headers=headers).status_code == 404
    assert _nothing_written(db)


# ------------------------------------------------------------------ the answers' shape


def _signed(hook, body: bytes, **kwargs) -> dict[str, str]:
    return signed_hook_headers(hook.webhook_secret, body, **kwargs)


def _replayed(client, hook):
    headers = _signed(hook, b"{}", message_id="msg_twice")
    assert _post(client, hook, b"{}", headers).status_code == 202
    return _post(client, hook, b"{}", headers)


REFUSALS = {
    "a body outside the schema": (
        400,
        lambda client, hook: _post(
            client, hook, b'{"reason": "a\\u0000"}', _signed(hook, b'{"reason": "a\\u0000"}')
        ),
        ["reason"],
    ),
    "a body that is not JSON": (
        400,
        lambda client, hook: _post(client, hook, b"not json", _signed(hook, b"not json")),
        [],
    ),
    "no signature": (401, lambda client, hook: _post(client, hook, b"{}", {}), []),
    "an unknown workflow": (
        404,
        lambda client, hook: client.post("/hooks/4242", data=b"{}", headers=_signed(hook, b"{}")),
        [],
    ),
    "a path that is no workflow id": (
        404,
        lambda client, hook: client.post("/hooks/latest", data=b"{}"),
        [],
    ),
    "a GET": (405, lambda client, hook: client.get(f"/hooks/{hook.id}"), []),
    "a replay": (409, _replayed, []),
    "a policy_id that names no policy": (
        422,
        lambda client, hook: _post(
            client, hook, b'{"policy_id": 4242}', _signed(hook, b'{"policy_id": 4242}')
        ),
        ["policy_id"],
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_every_refusal_answers_in_the_apis_json_error_shape(client, hook, db, case):
    status, send, fields = REFUSALS[case]

    response = send(client, hook)

    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == CODES[status]
    assert error["message"]
    assert [detail["field"] for detail in error["details"]] == fields
    assert all(detail["message"] for detail in error["details"])
    ErrorBody.model_validate(body)
    if status == 405:
        assert "POST" in response.headers["Allow"]


# ------------------------------------------------------------------ housekeeping


def test_housekeeping_forgets_ids_only_once_no_replay_of_them_could_pass_the_window(
    client, hook, db
):
    for message_id in ("msg_old", "msg_recent"):
        body = b"{}"
        headers = signed_hook_headers(hook.webhook_secret, body, message_id=message_id)
        assert _post(client, hook, body, headers).status_code == 202
    db.session.execute(
        sa.update(InboundWebhookMessage)
        .where(InboundWebhookMessage.message_id == "msg_old")
        .values(received_at=utcnow() - 2 * inbound.REPLAY_WINDOW - timedelta(seconds=1))
    )
    db.session.commit()

    assert inbound.forget_old_messages() == 1

    assert db.session.scalars(sa.select(InboundWebhookMessage.message_id)).all() == ["msg_recent"]
