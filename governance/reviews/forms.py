"""The "Mark reviewed, no changes" form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from governance.web.fields import DateField


class MarkReviewedForm(FlaskForm):
    note = TextAreaField(
        "Review note (optional)",
        validators=[Length(max=1000, message="The note must be at most 1000 characters.")],
    )
    # The review date the reviewer saw: a second click finds it moved and is refused.
    due_on = DateField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField("Mark reviewed, no changes")
