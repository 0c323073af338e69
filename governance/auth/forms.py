"""Login, password and account administration forms."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, ValidationError

from governance.auth import passwords, tokens
from governance.auth.models import NOTIFY_CHOICES, ROLE_LABELS, THEME_CHOICES, Group, User
from governance.auth.preferences import check_time_zone
from governance.errors import DomainError
from governance.timeutil import utcnow
from governance.web.fields import DateField, coerce_id, select_choices
from governance.web.times import zone_names


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)]
    )
    submit = SubmitField("Log in")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    # The service applies the password policy (auth/passwords.py), with its own messages.
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)]
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The passwords differ.")],
    )
    submit = SubmitField("Change password")


class NotificationPreferenceForm(FlaskForm):
    notify_by = RadioField(
        "How should Steward tell you about new notifications?",
        choices=select_choices(NOTIFY_CHOICES.items()),
        # Our own messages instead of WTForms' terse "Not a valid choice".
        validate_choice=False,
        validators=[
            DataRequired(message="Choose how you want to be notified."),
            AnyOf(list(NOTIFY_CHOICES), message="Choose one of the offered ways to be notified."),
        ],
    )
    submit = SubmitField("Save notification setting")


class DisplayPreferenceForm(FlaskForm):
    theme = RadioField(
        "Theme",
        choices=select_choices(THEME_CHOICES.items()),
        validate_choice=False,
        validators=[
            DataRequired(message="Choose a colour scheme."),
            AnyOf(list(THEME_CHOICES), message="Choose one of the offered colour schemes."),
        ],
    )
    time_zone = SelectField(
        "Time zone",
        choices=select_choices(
            [("", "Use my browser's time zone"), *((name, name) for name in sorted(zone_names()))]
        ),
        # The service's check, with its own message, instead of "Not a valid choice".
        validate_choice=False,
        description="Times on the pages are shown in this zone; emails, exports and the API "
        "keep UTC.",
    )
    submit = SubmitField("Save display settings")

    def validate_time_zone(self, field) -> None:
        try:
            check_time_zone(field.data)
        except DomainError as error:
            raise ValidationError(error.message) from None


class ApiTokenForm(FlaskForm):
    # The service checks the same rules (and those a form cannot, such as the date); these
    # only say it early, in the same words.
    name = StringField(
        "Token name",
        validators=[
            DataRequired(message="Give the token a name, e.g. “CI pipeline”."),
            Length(
                max=tokens.NAME_MAX, message=f"The name is at most {tokens.NAME_MAX} characters."
            ),
        ],
        description="What uses it, so you can tell your tokens apart, e.g. “CI pipeline”.",
    )
    expires_on = DateField(
        "Expires on (optional)",
        validators=[Optional()],
        description="The token works until the end of this day (UTC). Leave empty: no expiry.",
    )
    submit = SubmitField("Create token")

    def validate_expires_on(self, field) -> None:
        # The service's own rule, asked early so every field's problem shows at once.
        try:
            tokens.check_expiry(field.data, utcnow().date())
        except DomainError as error:
            raise ValidationError(error.message) from None


def user_choices(users: Iterable[User]) -> list[SelectChoice]:
    return select_choices((user.id, f"{user.name} <{user.email}>") for user in users)


def group_choices(groups: Iterable[Group]) -> list[SelectChoice]:
    return select_choices((group.id, group.name) for group in groups)


class UserEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    roles = MultiCheckboxField(
        "Roles", choices=select_choices(ROLE_LABELS.items()), validate_choice=True
    )
    groups = MultiCheckboxField("Groups", coerce=coerce_id, validate_choice=True)
    submit = SubmitField("Save")


class UserCreateForm(UserEditForm):
    email = EmailField(
        # The service checks the address (one rule for this form and `flask create-user`).
        "Email",
        validators=[DataRequired(), Length(max=254)],
    )
    password = PasswordField(
        "Initial password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)]
    )
    submit = SubmitField("Create user")


class GroupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    members = MultiCheckboxField("Members", coerce=coerce_id, validate_choice=True)
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    """An empty form: its only job is to carry the CSRF token of a one-button action."""

    submit = SubmitField("Confirm")
