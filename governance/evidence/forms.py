"""The evidence pack request form and the "Build again" button's form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField
from wtforms.validators import InputRequired

from governance.errors import DomainError
from governance.evidence import service
from governance.timeutil import utcnow
from governance.web.fields import DateField


class EvidencePackForm(FlaskForm):
    period_start = DateField(
        "First day",
        validators=[InputRequired(message="Enter the first day of the period.")],
        description="Versions published from the start of this day (UTC).",
    )
    period_end = DateField(
        "Last day",
        validators=[InputRequired(message="Enter the last day of the period.")],
        description=f"Up to the end of this day (UTC); today at the latest, "
        f"at most {service.MAX_PERIOD_YEARS} years after the first day.",
    )
    submit = SubmitField("Build evidence pack")

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        # The service's own rules, asked here so the message shows under the field it is about.
        try:
            service.check_period(
                self.period_start.data, self.period_end.data, today=utcnow().date()
            )
        except DomainError as error:
            field = getattr(self, error.field or "period_end")
            field.errors = [*field.errors, error.message]
            return False
        return True


class RebuildForm(FlaskForm):
    submit = SubmitField("Build again")
