"""The mark-done form: an optional note (its length rule lives in the tasks service)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField

from governance.tasks.service import NOTE_MAX


def _strip(value: str | None) -> str:
    return (value or "").strip()


class TaskDoneForm(FlaskForm):
    # No Length validator here: the service checks the note after it has checked who may
    # mark the task done, so a stranger gets a 404, never a hint about the task's form.
    note = TextAreaField(
        "Note (optional)",
        filters=[_strip],
        description=f"What was done, at most {NOTE_MAX:,} characters.",
    )
