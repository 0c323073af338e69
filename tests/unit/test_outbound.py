"""Outbound destinations are checked by the addresses they resolve to; answers are classified.

No network is needed: check_url only resolves (numeric hosts and localhost resolve offline).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from governance.webhooks.outbound import (
    DeliveryResult,
    UnsafeDestination,
    check_url,
    classify,
    resolve_checked,
)

PUBLIC_IP = "93.184.215.14"

LOOPBACK_AND_PRIVATE_HOSTS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0177.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "localhost",
    "LOCALHOST",
    "0.0.0.0",  # noqa: S104 - a URL host under test, nothing binds to it
    "169.254.169.254",
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "[fe80::1]",
    "[fc00::1]",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "[fec0::1]",
    "[2002:7f00:1::]",
    "[2002:a00:1::]",
    "[64:ff9b::7f00:1]",
]


@pytest.mark.parametrize("host", LOOPBACK_AND_PRIVATE_HOSTS)
def test_every_notation_of_a_loopback_private_or_special_address_is_refused(host):
    with pytest.raises(UnsafeDestination, match="public addresses"):
        check_url(f"http://{host}/hook")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "10.0.0.1"])
def test_a_non_default_port_does_not_get_a_private_address_through(host):
    with pytest.raises(UnsafeDestination):
        check_url(f"https://{host}:8443/hook")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "file:///etc/passwd",
        "gopher://example.org/",
        "javascript:alert(1)",
        "example.org/hook",
        "http://user:pass@example.org/",
        f"http://user@{PUBLIC_IP}/",
        f"http://{PUBLIC_IP}@127.0.0.1/",
        "http://",
        "http:///hook",
        "http://example.org:99999/",
        "http://example.org:0/",
        "http://example.org:http/",
        f"http://{PUBLIC_IP}/a b",
        f"http://{PUBLIC_IP}/\x00",
        f"http://{PUBLIC_IP}/\r\nX-Injected: 1",
        "",
    ],
)
def test_urls_with_other_schemes_credentials_no_host_or_a_bad_port_are_refused(url):
    with pytest.raises(UnsafeDestination):
        check_url(url)


def test_a_host_that_does_not_resolve_is_refused_with_a_message_naming_it():
    with pytest.raises(UnsafeDestination, match=r"could not resolve host nowhere\.invalid"):
        check_url("https://nowhere.invalid/hook")


def test_unsafe_destination_is_a_value_error_with_a_readable_message():
    with pytest.raises(ValueError, match=r"localhost resolves to 127\.0\.0\.1"):
        check_url("http://localhost/")


@pytest.mark.parametrize(
    "url",
    [f"http://{PUBLIC_IP}/", f"https://{PUBLIC_IP}:8443/path?x=1", "http://[2606:4700::1111]/"],
)
def test_a_public_address_is_allowed(url):
    check_url(url)


@pytest.mark.parametrize(
    ("url", "allowlist"),
    [
        ("http://127.0.0.1:8080/hook", ["127.0.0.1"]),
        ("http://127.0.0.1/", ["127.0.0.0/8"]),
        ("http://127.1/", ["127.0.0.0/8"]),
        ("http://2130706433/", ["127.0.0.1"]),
        ("http://[::ffff:127.0.0.1]/", ["127.0.0.0/8"]),
        ("http://[::1]/", ["::1"]),
        ("http://[::1]/", ["[::1]"]),
        ("http://localhost/", ["localhost"]),
        ("http://LocalHost/", ["localhost"]),
        ("http://localhost/", ["127.0.0.1"]),
        ("http://10.0.0.1/", ["10.0.0.0/8"]),
        ("http://10.0.0.1/", ["hooks.internal.example", "10.0.0.0/8"]),
    ],
)
def test_an_allowlisted_host_or_network_is_allowed(url, allowlist):
    check_url(url, allowlist=allowlist)


@pytest.mark.parametrize(
    ("url", "allowlist"),
    [
        ("http://10.0.0.1/", ["127.0.0.1"]),
        ("http://127.0.0.2/", ["127.0.0.1"]),
        ("http://192.168.1.1/", ["10.0.0.0/8", "localhost"]),
        ("http://localhost/", ["hooks.internal.example"]),
    ],
)
def test_the_allowlist_allows_only_what_it_names(url, allowlist):
    with pytest.raises(UnsafeDestination):
        check_url(url, allowlist=allowlist)


def test_resolve_checked_returns_the_addresses_to_connect_to_and_the_request_target():
    destination = resolve_checked("http://LOCALHOST:8080/hook?x=1#frag", ["localhost"])

    assert destination.hostname == "localhost"
    assert destination.port == 8080
    assert destination.target == "/hook?x=1"
    assert "127.0.0.1" in destination.addresses
    assert destination.host_header == "localhost:8080"


@pytest.mark.parametrize(
    ("url", "host_header"),
    [
        (f"https://{PUBLIC_IP}/", PUBLIC_IP),
        (f"http://{PUBLIC_IP}:80", PUBLIC_IP),
        (f"https://{PUBLIC_IP}:80/", f"{PUBLIC_IP}:80"),
        ("http://[2606:4700::1111]:8080/", "[2606:4700::1111]:8080"),
    ],
)
def test_the_host_header_names_the_urls_host_and_only_a_non_default_port(url, host_header):
    assert resolve_checked(url).host_header == host_header


def _result(status, **headers):
    return DeliveryResult(status=status, headers=headers)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_a_2xx_answer_succeeded(status):
    assert classify(_result(status)) == ("succeeded", None)


@pytest.mark.parametrize("status", [100, 301, 302, 307, 308, 400, 401, 403, 404, 410, 422, 600])
def test_redirects_and_other_client_errors_fail_without_retry(status):
    assert classify(_result(status)) == ("failed", None)


def test_429_with_retry_after_seconds_is_retried_after_that_many_seconds():
    assert classify(_result(429, **{"retry-after": "7"})) == ("retry", 7.0)


def test_retry_after_is_found_whatever_the_case_of_its_name():
    assert classify(_result(429, **{"Retry-After": " 7 "})) == ("retry", 7.0)


def test_429_with_retry_after_as_an_http_date_waits_until_that_date():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert classify(_result(429, **{"retry-after": header}), now=now) == ("retry", 90.0)


def test_a_retry_after_date_in_the_past_means_retry_now():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now - timedelta(minutes=5), usegmt=True)

    assert classify(_result(503, **{"retry-after": header}), now=now) == ("retry", 0.0)


@pytest.mark.parametrize("value", ["86400", "Wed, 01 Jan 2100 00:00:00 GMT"])
def test_retry_after_is_capped_at_one_hour(value):
    assert classify(_result(429, **{"retry-after": value})) == ("retry", 3600.0)


@pytest.mark.parametrize("value", ["soon", "-5", "", "1.5e"])
def test_an_unreadable_retry_after_leaves_the_delay_to_the_caller(value):
    assert classify(_result(503, **{"retry-after": value})) == ("retry", None)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_server_errors_are_retried(status):
    assert classify(_result(status)) == ("retry", None)


def test_503_with_retry_after_is_retried_after_that_delay():
    assert classify(_result(503, **{"retry-after": "120"})) == ("retry", 120.0)


@pytest.mark.parametrize(
    "error", ["timed out waiting for a response from hooks.example", "connection refused by x:80"]
)
def test_timeouts_and_connection_errors_are_retried(error):
    assert classify(DeliveryResult(status=None, error=error)) == ("retry", None)
