"""Showing a service's refusal on the form that asked for the change."""

from __future__ import annotations

from flask_wtf import FlaskForm

from governance.errors import DomainError


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put the message under the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and field.name not in ("version", "csrf_token"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
