"""Every select builds its choices with web/fields.select_choices; WTForms' tuple choices (gone in
WTForms 3.4) are an error in the suite (pyproject's filterwarnings), so none can come back."""

from __future__ import annotations

import pytest
import wtforms

from governance.web.fields import select_choices


def test_select_choices_give_a_select_its_options():
    class Form(wtforms.Form):
        kind = wtforms.SelectField(
            choices=select_choices({"major": "Major", "minor": "Minor"}.items())
        )

    form = Form(data={"kind": "minor"})
    assert [(c.value, c.label, c.selected) for c in form.kind.iter_choices()] == [
        ("major", "Major", False),
        ("minor", "Minor", True),
    ]
    assert form.validate()


def test_a_form_with_tuple_choices_fails_the_suite():
    class Form(wtforms.Form):
        kind = wtforms.SelectField(choices=[("major", "Major"), ("minor", "Minor")])

    with pytest.raises(DeprecationWarning, match="Passing SelectField choices as tuples"):
        Form()
