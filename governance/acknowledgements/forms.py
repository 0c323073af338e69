"""Acknowledgement forms: a policy's audience, and the one-button confirmation."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SubmitField
from wtforms.validators import ValidationError

from governance.auth.forms import MultiCheckboxField
from governance.web.fields import coerce_id, select_choices

AUDIENCES = select_choices([("everyone", "Everyone"), ("groups", "Chosen groups")])


class AckSettingsForm(FlaskForm):
    required = BooleanField("Require acknowledgement of every major version")
    audience = RadioField("Who must acknowledge", choices=AUDIENCES, default="everyone")
    groups = MultiCheckboxField("Groups", coerce=coerce_id, validate_choice=True)
    submit = SubmitField("Save")

    def validate_groups(self, field) -> None:
        if self.required.data and self.audience.data == "groups" and not field.data:
            raise ValidationError("Choose at least one group, or choose Everyone.")


class AcknowledgeForm(FlaskForm):
    submit = SubmitField("I have read and understood")
