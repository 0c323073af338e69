"""Turning an outbox row into an email and handing it over: SMTP, or an .eml file in development.

Knows nothing about claims or retries (see outbox.py); it either delivers or raises.
"""

from __future__ import annotations

import os
import re
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app

from governance.timeutil import utcnow

# Seconds each SMTP socket operation may take. Kept well under outbox.SEND_LEASE so an attempt
# still talking to a slow server cannot overlap the next attempt at the same email.
SMTP_TIMEOUT_SECONDS = 10
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def message_id(message_key: str) -> str:
    """The Message-ID comes from the outbox key, so a re-sent copy carries the same one and a
    mail system that de-duplicates drops it."""
    return f"<{_UNSAFE_FILE_CHARS.sub('.', message_key)}@steward>"


def build_message(
    *, recipients: list[str], subject: str, body: str, message_key: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id(message_key)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    message.set_content(body or "")
    return message


def is_smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send_smtp(message: EmailMessage) -> None:
    """Deliver through MAIL_SERVER; raises (OSError, smtplib.SMTPException) when it cannot."""
    config = current_app.config
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS
    ) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        refused = smtp.send_message(message)
    if refused:
        # Some recipients were refused: report it rather than call the email sent.
        raise smtplib.SMTPRecipientsRefused(refused)


def outbox_dir() -> Path:
    return Path(current_app.instance_path) / "outbox"


def write_eml(message: EmailMessage, *, email_id: int, message_key: str) -> Path:
    """Development without MAIL_SERVER: the message as a file a mail client can open.

    Written to a temporary name and renamed, so a crash never leaves half a message behind.
    """
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{email_id:06d}-{_UNSAFE_FILE_CHARS.sub('-', message_key)[:80]}.eml"
    path = folder / name
    partial = folder / f".{name}.partial"
    partial.write_bytes(bytes(message))
    os.replace(partial, path)
    return path
