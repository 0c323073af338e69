"""The decision form: approve or reject (the button pressed), with a comment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField


class DecisionForm(FlaskForm):
    # Set by the button pressed; the decision service refuses anything but approved/rejected.
    decision = HiddenField()
    comment = TextAreaField("Comment", description="Required to reject.")
