"""Policy forms. Fields not declared here (a forged `status`, say) are never read."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from governance.policies.cadence import MAX_CUSTOM_DAYS
from governance.web.fields import DateField, IntegerField, coerce_id, select_choices

REVIEW_FREQUENCIES = select_choices(
    [
        ("", "No regular review"),
        ("monthly", "Monthly"),
        ("quarterly", "Quarterly"),
        ("yearly", "Yearly"),
        ("custom", "Custom: every N days"),
    ]
)


class PolicyForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired("Give the policy a title."), Length(max=200)]
    )
    category = StringField(
        "Category", validators=[DataRequired("Choose or type a category."), Length(max=80)]
    )
    # Not validated against the choices here: the service checks the owner and says why.
    owner_id = SelectField("Owner", coerce=coerce_id, validate_choice=False)
    body = TextAreaField("Text (Markdown)", validators=[Optional()])
    tags = StringField(
        "Tags", validators=[Length(max=500)], description="Comma separated, e.g. gdpr, vendors"
    )
    # Checked by validate_review_frequency, with a clearer message than "Not a valid choice".
    review_frequency = SelectField(
        "Review cadence", choices=REVIEW_FREQUENCIES, default="", validate_choice=False
    )
    review_interval_days = IntegerField(
        "Days between reviews",
        validators=[Optional()],
        maximum=MAX_CUSTOM_DAYS,
        description="Only for a custom cadence, e.g. 60.",
    )
    next_review_on = DateField(
        "First/next review date",
        validators=[Optional()],
        description="Later reviews follow the cadence from this date. "
        "Empty: one period from today.",
    )
    summary = StringField(
        "Change summary",
        validators=[Length(max=200)],
        description="One line for the revision history, e.g. “Clarified retention period”.",
    )
    # The version the form was opened at: a save from an older one is refused (optimistic lock).
    # From 0: a stale version is the service's to refuse, as "changed by someone else".
    version = IntegerField(widget=HiddenInput(), validators=[Optional()], minimum=0)
    submit = SubmitField("Save")

    def validate_review_frequency(self, field) -> None:
        if field.data and field.data not in {choice.value for choice in REVIEW_FREQUENCIES}:
            raise ValidationError("Choose a review cadence from the list.")

    def frequency(self) -> str | None:
        return self.review_frequency.data or None

    def interval(self) -> int | None:
        """The days typed, read only for a custom cadence."""
        return self.review_interval_days.data if self.frequency() == "custom" else None


class PreviewForm(FlaskForm):
    """The text of the policy form, sent by the preview pane; its length is checked by the view
    against POLICY_BODY_MAX_CHARS, the same limit a save has."""

    body = TextAreaField(validators=[Optional()])


class TransitionForm(FlaskForm):
    target = HiddenField(validators=[InputRequired()])
    reason = TextAreaField("Reason", validators=[Length(max=500)])
    # Only read when submitting for review: decides the version label at publication.
    change_kind = RadioField(
        "This change is",
        choices=select_choices([("major", "Major"), ("minor", "Minor")]),
        validators=[Optional()],
        validate_choice=False,
    )
    # From 0: a stale version is the service's to refuse, as "changed by someone else".
    version = IntegerField(widget=HiddenInput(), validators=[Optional()], minimum=0)
    submit = SubmitField("Confirm")
