"""The evidence pack request form and the "Build again" button's form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField
from wtforms.validators import InputRequired, ValidationError

from governance.auth.forms import DateInputField
from governance.errors import DomainError
from governance.evidence import service
from governance.timeutil import utcnow


class EvidencePackForm(FlaskForm):
    period_start = DateInputField(
        "First day",
        validators=[InputRequired(message="Enter the first day of the period.")],
        description="Versions published from the start of this day (UTC).",
    )
    period_end = DateInputField(
        "Last day",
        validators=[InputRequired(message="Enter the last day of the period.")],
        description=f"Up to the end of this day (UTC); today at the latest, "
        f"at most {service.MAX_PERIOD_YEARS} years after the first day.",
    )
    submit = SubmitField("Build evidence pack")

    def validate_period_end(self, field) -> None:
        # The service's own rules, asked early so every problem shows on its field at once.
        if self.period_start.errors or self.period_start.data is None or field.data is None:
            return
        try:
            service.check_period(self.period_start.data, field.data, today=utcnow().date())
        except DomainError as error:
            target = getattr(self, error.field or "period_end")
            if target is field:
                raise ValidationError(error.message) from None
            target.errors = [*target.errors, error.message]


class RebuildForm(FlaskForm):
    submit = SubmitField("Build again")
