"""Policy forms. Fields not declared here (a forged `status`, say) are never read."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

REVIEW_INTERVALS = [
    SelectChoice("", "No fixed interval"),
    SelectChoice("30", "Monthly"),
    SelectChoice("91", "Quarterly"),
    SelectChoice("182", "Every six months"),
    SelectChoice("365", "Yearly"),
    SelectChoice("730", "Every two years"),
]


class PolicyForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired("Give the policy a title."), Length(max=200)]
    )
    category = StringField(
        "Category", validators=[DataRequired("Choose or type a category."), Length(max=80)]
    )
    # Not validated against the choices here: the service checks the owner and says why.
    owner_id = SelectField("Owner", coerce=int, validate_choice=False)
    body = TextAreaField("Text (Markdown)", validators=[Optional()])
    tags = StringField(
        "Tags", validators=[Length(max=500)], description="Comma separated, e.g. gdpr, vendors"
    )
    review_interval_days = SelectField("Review every", choices=REVIEW_INTERVALS, default="")
    next_review_on = DateField(
        "Next review date",
        validators=[Optional()],
        description="Leave empty to count from today using the interval.",
    )
    summary = StringField(
        "Change summary",
        validators=[Length(max=200)],
        description="One line for the revision history, e.g. “Clarified retention period”.",
    )
    # The version the form was opened at: a save from an older one is refused (optimistic lock).
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField("Save")

    def validate_review_interval_days(self, field) -> None:
        if field.data and not field.data.isdigit():
            raise ValidationError("Choose an interval from the list.")

    def interval(self) -> int | None:
        return int(self.review_interval_days.data) if self.review_interval_days.data else None


class TransitionForm(FlaskForm):
    target = HiddenField(validators=[InputRequired()])
    reason = TextAreaField("Reason", validators=[Length(max=500)])
    # Only read when submitting for review: decides the version label at publication.
    change_kind = RadioField(
        "This change is",
        choices=[("major", "Major"), ("minor", "Minor")],
        validators=[Optional()],
        validate_choice=False,
    )
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField("Confirm")
