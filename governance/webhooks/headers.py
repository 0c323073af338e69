"""The headers an outbound webhook step adds to its requests: which may be set, how a
configured list is cleaned, and how the delivery log hides the secret ones. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from governance.engine.definition import is_secret_row

MAX_HEADERS = 20
MAX_NAME = 100
MAX_VALUE = 4000
HIDDEN = "[hidden]"
# Set by the connection itself (hop-by-hop or framing), or by Steward for every delivery (the
# signature and the idempotency key receivers rely on): a step may not set them.
FORBIDDEN = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "idempotency-key",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def clean_headers(raw: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The rows as saved ({"name", "value", "secret"}, empty rows dropped) and the first
    problem found, in words, or None."""
    rows = raw if isinstance(raw, list) else []
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    problem: str | None = None

    def refuse(message: str) -> None:
        nonlocal problem
        problem = problem or message

    for row in rows:
        if not isinstance(row, Mapping):
            refuse("Each header is a name and a value.")
            continue
        name = str(row.get("name") or "").strip()
        value = str(row.get("value") or "")
        secret = is_secret_row(row)
        if not name and not value:
            continue  # an empty row of the form
        cleaned.append({"name": name, "value": value, "secret": secret})
        if not name:
            refuse("A header value needs a name.")
        elif len(name) > MAX_NAME or not _TOKEN.match(name):
            refuse(f"“{name[:MAX_NAME]}” is not a header name: letters, digits and - only.")
        elif name.lower() in FORBIDDEN:
            refuse(
                f"The {name} header cannot be set: the connection or Steward sets it "
                "(Host, Content-Length, Transfer-Encoding and other hop-by-hop headers, "
                "the webhook-* signature headers, Idempotency-Key)."
            )
        elif name.lower() in seen:
            refuse(f"The {name} header is listed twice.")
        elif len(value) > MAX_VALUE:
            refuse(f"The value of {name} is longer than {MAX_VALUE} characters.")
        elif any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in value):
            refuse(f"The value of {name} may not contain line breaks or control characters.")
        elif not value:
            refuse(f"Give the {name} header a value, or remove it.")
        seen.add(name.lower())
    if len(cleaned) > MAX_HEADERS:
        refuse(f"At most {MAX_HEADERS} headers.")
    return cleaned, problem


def request_headers(rows: list[dict[str, Any]]) -> dict[str, str]:
    """What is sent: name -> value (names as configured)."""
    return {row["name"]: row["value"] for row in rows if row.get("name")}


def logged_headers(sent: Mapping[str, str], rows: list[dict[str, Any]]) -> dict[str, str]:
    """The headers of a request as the log keeps them: lower-case names, secret values
    hidden."""
    secret = {row["name"].lower() for row in rows if is_secret_row(row)}
    return {
        name.lower(): HIDDEN if name.lower() in secret else value for name, value in sent.items()
    }
