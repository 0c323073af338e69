"""Outbound HTTP for the `webhook` step: refuse destinations that are not public (SSRF),
send JSON to an address that was checked, never follow redirects, and classify the answer.

Pure: no Flask, no database. Timeouts and connection errors come back as a DeliveryResult;
only an unsafe destination raises (the caller records it as a permanent failure).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Collection, Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Outcome = Literal["succeeded", "retry", "failed"]

DEFAULT_PORTS = {"http": 80, "https": 443}
METHODS = ("POST", "PUT", "PATCH", "DELETE", "GET")
MAX_RETRY_AFTER_SECONDS = 3600.0
USER_AGENT = "Steward-Webhooks/1"


class UnsafeDestination(ValueError):
    """A URL Steward will not call; the message is fit to show whoever configured it."""


@dataclass(frozen=True)
class Destination:
    """A URL that passed the checks, with every address its host resolved to."""

    scheme: str
    hostname: str  # lower case, IPv6 without brackets
    port: int
    target: str  # path and query for the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class DeliveryResult:
    """What one request produced: a status and (truncated) body, or an error and no status."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    error: str | None = None
    elapsed_ms: int = 0


def check_url(url: str, allowlist: Collection[str] = ()) -> None:
    """Raise UnsafeDestination unless `url` may be called (see resolve_checked)."""
    resolve_checked(url, allowlist)


def resolve_checked(url: str, allowlist: Collection[str] = ()) -> Destination:
    """Parse `url`, resolve its host and refuse it unless every address is public or allowlisted.

    `allowlist` holds host names (matched case-insensitively; the name is then trusted whatever
    it resolves to) and IP addresses or CIDR networks that are allowed though not public.
    """
    scheme, hostname, port, target = _parse(url)
    addresses = _resolve(hostname, port)
    names, networks = _parse_allowlist(allowlist)
    if hostname.rstrip(".") not in names:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not _is_public(ip) and not _is_in(ip, networks):
                raise UnsafeDestination(
                    f"Webhooks may only call public addresses: {hostname} resolves to {address}."
                )
    return Destination(scheme, hostname, port, target, addresses)


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 5,
    read_timeout: float = 10,
    allowlist: Collection[str] = (),
    max_response_bytes: int = 65536,
) -> DeliveryResult:
    """POST `body` to `url` once. Redirects are returned, never followed."""
    return send(
        "POST",
        url,
        body,
        headers,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        allowlist=allowlist,
        max_response_bytes=max_response_bytes,
    )


def send(
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 5,
    read_timeout: float = 10,
    allowlist: Collection[str] = (),
    max_response_bytes: int = 65536,
) -> DeliveryResult:
    """Send one `method` request with `body` (none for an empty GET) to `url`. Redirects are
    returned, never followed. UnsafeDestination for a method or address Steward will not use."""
    if method not in METHODS:
        raise UnsafeDestination(f"Webhooks are sent with {', '.join(METHODS)}, not {method}.")
    started = time.monotonic()
    destination = resolve_checked(url, allowlist)
    where = destination.host_header
    try:
        sock = _connect(destination, connect_timeout)
    except TimeoutError:
        return _failure(started, f"timed out connecting to {where}")
    except ConnectionRefusedError:
        return _failure(started, f"connection refused by {where}")
    except ssl.SSLError as exc:
        return _failure(started, f"TLS handshake with {where} failed: {exc}")
    except OSError as exc:
        return _failure(started, f"could not connect to {where}: {exc}")

    # The socket is already connected to a checked address; handing it to http.client means
    # http.client never resolves the name again, so DNS cannot change between check and use.
    connection = http.client.HTTPConnection(destination.hostname, destination.port)
    connection.sock = sock
    try:
        sock.settimeout(read_timeout)
        connection.request(
            method,
            destination.target,
            body=body or None,
            headers=_request_headers(destination, headers, has_body=bool(body)),
        )
        response = connection.getresponse()
        response_body = response.read(max_response_bytes)
    except TimeoutError:
        return _failure(started, f"timed out waiting for a response from {where}")
    except http.client.HTTPException as exc:
        return _failure(started, f"no valid HTTP response from {where}: {exc!r}")
    except OSError as exc:
        return _failure(started, f"connection to {where} failed: {exc}")
    finally:
        connection.close()
    return DeliveryResult(
        status=response.status,
        headers=_header_dict(response),
        body=response_body,
        elapsed_ms=_elapsed_ms(started),
    )


def classify(
    result: DeliveryResult,
    *,
    now: datetime | None = None,
    expected: Container[int] = range(200, 300),
) -> tuple[Outcome, float | None]:
    """("succeeded", None) for an `expected` status (any 2xx unless said otherwise), ("retry",
    seconds the receiver asked us to wait or None), or ("failed", None) for answers that
    retrying will not change (3xx, most 4xx)."""
    if result.status is None:
        return "retry", None
    if result.status in expected:
        return "succeeded", None
    if result.status == 429 or 500 <= result.status < 600:
        retry_after = next(
            (value for name, value in result.headers.items() if name.lower() == "retry-after"),
            None,
        )
        return "retry", _retry_after_seconds(retry_after, now or datetime.now(UTC))
    return "failed", None


def _parse(url: str) -> tuple[str, str, int, str]:
    # http.client refuses such characters later with an unhelpful error; say it up front.
    if not url.isascii() or not url.isprintable() or " " in url:
        raise UnsafeDestination(
            "The URL may not contain spaces, control or non-ASCII characters; percent-encode them."
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"The URL is not valid: {exc}.") from exc
    if parts.scheme not in DEFAULT_PORTS:
        raise UnsafeDestination("Only http:// and https:// URLs can be called.")
    # Credentials in a URL end up in logs and screens; receivers must use headers instead.
    if "@" in parts.netloc:
        raise UnsafeDestination("The URL may not contain a user name or password.")
    if not parts.hostname:
        raise UnsafeDestination("The URL must name a host.")
    if port == 0:
        raise UnsafeDestination("The URL's port must be between 1 and 65535.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], target


def _resolve(hostname: str, port: int) -> tuple[str, ...]:
    # getaddrinfo also reads numeric notations ("2130706433", "0x7f000001", "0177.0.0.1",
    # "127.1") as IPv4, so checking what it returns covers them all, where string checks leak.
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"could not resolve host {hostname}") from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeDestination(f"could not resolve host {hostname}")
    return addresses


def _parse_allowlist(allowlist: Collection[str]) -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in allowlist:
        entry = entry.strip()
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, networks


def _is_public(ip: IPAddress) -> bool:
    return all(_is_global(candidate) for candidate in _with_embedded_ipv4(ip))


def _is_global(ip: IPAddress) -> bool:
    # is_global alone misses multicast and IPv6 site-local, so every flag is asked.
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def _with_embedded_ipv4(ip: IPAddress) -> Iterator[IPAddress]:
    # An IPv6 address can carry an IPv4 one that the network stack or a relay will reach
    # (::ffff:127.0.0.1, 6to4 2002:7f00:1::); the carried address must be public too.
    yield ip
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            yield ip.ipv4_mapped
        if ip.sixtofour:
            yield ip.sixtofour
        if ip.teredo:
            yield from ip.teredo


def _is_in(ip: IPAddress, networks: list[IPNetwork]) -> bool:
    unwrapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return any(ip in network or (unwrapped and unwrapped in network) for network in networks)


def _connect(destination: Destination, timeout: float) -> socket.socket:
    error: OSError = OSError("no address to connect to")
    for address in destination.addresses:
        try:
            sock = socket.create_connection((address, destination.port), timeout=timeout)
            break
        except OSError as exc:
            error = exc
    else:
        raise error
    if destination.scheme == "https":
        # The certificate is checked against the host name in the URL, not the address.
        context = ssl.create_default_context()
        try:
            return context.wrap_socket(sock, server_hostname=destination.hostname)
        except BaseException:
            sock.close()
            raise
    return sock


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _failure(started: float, error: str) -> DeliveryResult:
    return DeliveryResult(status=None, error=error, elapsed_ms=_elapsed_ms(started))


def _request_headers(
    destination: Destination, headers: Mapping[str, str], *, has_body: bool = True
) -> dict[str, str]:
    merged = {"content-type": "application/json"} if has_body else {}
    merged["user-agent"] = USER_AGENT
    merged.update({name.lower(): value for name, value in headers.items()})
    # Host is always the URL's host: the connection goes to an address, the request to a name.
    merged["host"] = destination.host_header
    return merged


def _header_dict(response: http.client.HTTPResponse) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds ("120") or an HTTP date, clamped to [0, one hour]."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
