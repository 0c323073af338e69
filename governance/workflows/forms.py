"""Designer forms. The nested stages and steps are parsed by editor.parse (one dynamic form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from governance.web.fields import IntegerField


class WorkflowForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    description = TextAreaField("Description", validators=[Length(max=1000)])


class RunForm(FlaskForm):
    policy_id = IntegerField("Policy id", validators=[Optional()])


class ActivateForm(FlaskForm):
    version = IntegerField("Version", validators=[Optional()])
