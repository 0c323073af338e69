"""post_json against a real HTTP server on 127.0.0.1: what arrives, what comes back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import time

import pytest

from governance.webhooks.outbound import UnsafeDestination, classify, post_json
from governance.webhooks.signing import new_signing_secret, standard_webhook_headers

LOCAL = ["127.0.0.1"]


def test_post_json_delivers_the_exact_body_and_signed_webhook_headers(receiver):
    secret = new_signing_secret()
    body = b'{"event": "policy.published", "policy_id": 12, "title": "Caf\xc3\xa9"}'
    headers = standard_webhook_headers(secret, "msg_step_41_1", 1_700_000_000, body)

    result = post_json(receiver.url("/hook?source=steward"), body, headers, allowlist=LOCAL)

    assert result.status == 204
    assert result.error is None
    assert classify(result) == ("succeeded", None)
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook?source=steward"
    assert request.body == body
    assert request.headers["webhook-id"] == "msg_step_41_1"
    assert request.headers["webhook-timestamp"] == "1700000000"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, b"msg_step_41_1.1700000000." + body, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_the_host_header_is_the_hostname_in_the_url_not_the_address_connected_to(receiver):
    post_json(f"http://localhost:{receiver.port}/hook", b"{}", {}, allowlist=["localhost"])

    [request] = receiver.requests
    assert request.headers["host"] == f"localhost:{receiver.port}"


def test_a_redirect_is_returned_and_never_followed(receiver):
    result = post_json(receiver.url("/redirect"), b"{}", {}, allowlist=LOCAL)

    assert result.status == 302
    assert result.headers["location"] == receiver.url("/redirected")
    assert classify(result) == ("failed", None)
    time.sleep(0.2)
    assert [request.path for request in receiver.requests] == ["/redirect"]


def test_a_receiver_slower_than_the_read_timeout_gives_a_timeout_to_retry(receiver):
    started = time.monotonic()

    result = post_json(receiver.url("/slow"), b"{}", {}, read_timeout=0.3, allowlist=LOCAL)

    assert time.monotonic() - started < 3
    assert result.status is None
    assert "timed out" in result.error
    assert result.elapsed_ms >= 300
    assert classify(result) == ("retry", None)


def test_503_with_retry_after_is_retried_after_the_requested_delay(receiver):
    result = post_json(receiver.url("/busy"), b"{}", {}, allowlist=LOCAL)

    assert result.status == 503
    assert classify(result) == ("retry", 3.0)


def test_a_large_response_body_is_truncated(receiver):
    result = post_json(receiver.url("/big"), b"{}", {}, allowlist=LOCAL, max_response_bytes=1000)

    assert result.status == 200
    assert result.body == b"x" * 1000


def test_without_the_allowlist_posting_to_loopback_raises_and_sends_nothing(receiver):
    with pytest.raises(UnsafeDestination):
        post_json(receiver.url("/hook"), b"{}", {})

    time.sleep(0.2)
    assert receiver.requests == []


def test_a_closed_port_gives_connection_refused_to_retry():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = post_json(f"http://127.0.0.1:{port}/hook", b"{}", {}, allowlist=LOCAL)

    assert result.status is None
    assert result.error == f"connection refused by 127.0.0.1:{port}"
    assert classify(result) == ("retry", None)


def test_https_to_a_server_that_does_not_speak_tls_is_an_error_not_an_exception(receiver):
    result = post_json(f"https://127.0.0.1:{receiver.port}/hook", b"{}", {}, allowlist=LOCAL)

    assert result.status is None
    assert result.error
    assert classify(result) == ("retry", None)
