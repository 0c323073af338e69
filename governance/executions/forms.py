"""The operator's cancel form on the execution page (retry is a one-button ConfirmForm)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason", validators=[Length(max=500, message="Keep the reason under 500 characters.")]
    )
    submit = SubmitField("Cancel execution")
