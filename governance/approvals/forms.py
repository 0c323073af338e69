"""Forms of the inbox: decide (one or several requests) and delegate."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from governance.web.fields import coerce_id


class DecisionForm(FlaskForm):
    # Set by the button pressed; the decision service refuses anything but approved/rejected.
    decision = HiddenField()
    comment = TextAreaField("Comment", description="Required to reject.")
    # Where the decision was made ("inbox" or the execution page), to answer in kind.
    origin = HiddenField()


class BulkDecisionForm(FlaskForm):
    comment = TextAreaField("Comment for all selected", validators=[Length(max=2000)])


class DelegateForm(FlaskForm):
    to_user_id = SelectField("Delegate to", coerce=coerce_id, validate_choice=False)
    reason = TextAreaField(
        "Reason",
        description="Shown to the delegate and kept in the audit trail.",
        validators=[Length(max=500)],
    )
