"""Designer forms. The nested stages and steps are parsed by editor.parse (one dynamic form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from governance.web.fields import IntegerField, select_choices


class WorkflowForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    description = TextAreaField("Description", validators=[Length(max=1000)])
    # The latest version the whole-form designer was read from (absent for a new workflow).
    version = IntegerField("Version", validators=[Optional()])


class RunForm(FlaskForm):
    policy_id = IntegerField("Policy id", validators=[Optional()])


class TemplatePreviewForm(FlaskForm):
    """The designer's template preview: which template field of the form to render."""

    preview_field = StringField("Template field", validators=[InputRequired(), Length(max=200)])


class ActivateForm(FlaskForm):
    version = IntegerField("Version", validators=[Optional()])


GRACE_CHOICES = (
    (0, "No grace: the old secret stops signing now"),
    (1, "1 hour"),
    (24, "24 hours"),
    (168, "7 days"),
)


def grace_choices(configured: int) -> list[SelectChoice]:
    """The grace periods offered, the configured default (WEBHOOK_SECRET_GRACE_HOURS) among them."""
    choices = dict(GRACE_CHOICES) | {
        configured: dict(GRACE_CHOICES).get(configured, f"{configured} hours")
    }
    return select_choices(sorted(choices.items()))


class RotateSecretForm(FlaskForm):
    grace_hours = SelectField("Previous secret keeps signing for", coerce=int)


class LegacySignatureForm(FlaskForm):
    enabled = SelectField(
        "X-Steward-Signature", choices=select_choices([("on", "on"), ("off", "off")])
    )


class StepPanelForm(FlaskForm):
    """The diagram designer's step panel; the step's own fields are parsed by
    design.parse_step. `version`: the latest version the panel was read from."""

    version = IntegerField("Version", validators=[InputRequired()])


class DiagramOpForm(FlaskForm):
    """One move or removal from the diagram (design.DIAGRAM_OPS)."""

    version = IntegerField("Version", validators=[InputRequired()])
    op = StringField("Change", validators=[InputRequired(), Length(max=60)])
