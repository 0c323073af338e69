"""Showing a service's refusal on the form that asked for the change, and telling the next page
that a form's local draft is saved."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from governance.errors import DomainError


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put the message under the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and field.name not in ("version", "csrf_token"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


# A flash category that base.html renders as a hidden marker instead of a message.
DRAFT_SAVED = "draft-saved"


def forget_local_draft(key: str) -> None:
    """After a successful save: static/unsaved.js drops the browser's draft `key` (the form's
    data-draft value) when the next page shows this marker. Only the server knows the save
    went through; a page that comes back with errors keeps the draft."""
    flash(key, DRAFT_SAVED)
