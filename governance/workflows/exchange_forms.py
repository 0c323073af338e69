"""Forms of the exchange pages: importing a workflow file, and starting from a gallery template
(one group select per group the template names)."""

from __future__ import annotations

from typing import ClassVar

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length

from governance.auth.models import Group
from governance.parsing import id_or_none
from governance.web.fields import select_choices
from governance.workflows.workflow_file import MAX_BYTES


class ImportForm(FlaskForm):
    file = FileField(
        "Workflow file", description="A .yaml or .json file exported from Steward (at most 256 KB)."
    )
    # Counted in characters here; the file's limit in bytes applies to it as well.
    text = TextAreaField("Or paste its text", validators=[Length(max=MAX_BYTES)])
    name = StringField(
        "Name",
        validators=[Length(max=120)],
        description="Leave empty to use the name in the file.",
    )


class TemplateForm(FlaskForm):
    _group_names: ClassVar[list[tuple[str, str]]] = []
    name = StringField("Name", validators=[Length(max=120)])

    def group_fields(self) -> list[tuple[str, SelectField]]:
        """(the template's group name, its select), in the template's order."""
        return [(name, getattr(self, field_name)) for field_name, name in self._group_names]

    def chosen_groups(self) -> dict[str, int | None]:
        return {name: id_or_none(field.data) for name, field in self.group_fields()}


def template_form(title: str, group_names: list[str], groups: list[Group]) -> TemplateForm:
    """The form of a gallery template: its name, and a select per group the template names,
    preset to the group of that name when there is one."""

    class CardForm(TemplateForm):
        _group_names: ClassVar[list[tuple[str, str]]] = [
            (f"group_{index}", name) for index, name in enumerate(group_names)
        ]

    choices = select_choices([("", "— none —")] + [(str(group.id), group.name) for group in groups])
    by_name = {group.name.lower(): str(group.id) for group in groups}
    for field_name, name in CardForm._group_names:
        setattr(
            CardForm,
            field_name,
            SelectField(
                f"Group for “{name}”", choices=choices, default=by_name.get(name.lower(), "")
            ),
        )
    return CardForm(name=title)
