"""Exception forms: the request and the revocation. The service checks the rules again."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from governance.policy_exceptions.service import JUSTIFICATION_MAX, REASON_MAX, SCOPE_MAX
from governance.web.fields import DateField


class ExceptionForm(FlaskForm):
    scope = StringField(
        "Who or what it covers",
        validators=[
            DataRequired("Say who or what the exception covers."),
            Length(max=SCOPE_MAX, message=f"The scope must be at most {SCOPE_MAX} characters."),
        ],
        description="e.g. “Legacy payroll server PAY-01” or “Contractors in the data team”.",
    )
    justification = TextAreaField(
        "Justification",
        validators=[
            DataRequired("Explain why the exception is needed."),
            Length(
                max=JUSTIFICATION_MAX,
                message=f"The justification must be at most {JUSTIFICATION_MAX:,} characters.",
            ),
        ],
        description="Why the policy cannot be followed here, and what reduces the risk meanwhile.",
    )
    expires_on = DateField(
        "Expires on",
        validators=[InputRequired("Choose the date the exception expires.")],
        description="The last day the exception covers; it ends on its own the day after.",
    )
    submit = SubmitField("Request approval")


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Reason to revoke",
        validators=[
            DataRequired("Give a reason to revoke the exception."),
            Length(max=REASON_MAX, message=f"The reason must be at most {REASON_MAX} characters."),
        ],
    )
    submit = SubmitField("Revoke")
