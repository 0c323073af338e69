"""Forms of the queue page: discard a failed job (with a reason) and retry several."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from governance.queues.operations import REASON_MAX


class DiscardForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        description="Why this work is given up; kept in the audit trail.",
        validators=[
            DataRequired("Say why the job is discarded."),
            Length(max=REASON_MAX, message=f"Keep the reason under {REASON_MAX} characters."),
        ],
    )


class BulkRetryForm(FlaskForm):
    """Carries the CSRF token; the selected jobs come as `job_ids` checkboxes."""
