"""Step templates render in a sandbox: data in, no way to reach Python internals."""

import pytest

from governance.engine.templating import TemplateError, check_template, render


def test_templates_read_policy_trigger_and_step_outputs():
    data = {
        "policy": {"title": "Travel"},
        "trigger": {"new_status": "published"},
        "steps": {"legal": {"output": {"decision": "approved"}}},
    }
    text = render(
        "{{ policy.title }} is {{ trigger.new_status }} ({{ steps.legal.output.decision }})", data
    )
    assert text == "Travel is published (approved)"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ policy.__class__ }}",
        "{{ ().__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_internals_are_out_of_reach(source):
    try:
        text = render(source, {"policy": {"title": "x"}})
    except TemplateError:
        return
    assert "class" not in text and "subclasses" not in text and "module" not in text


def test_a_broken_template_is_reported_with_its_line():
    with pytest.raises(TemplateError, match="line 1"):
        check_template("{{ policy.title ")


def test_missing_values_render_empty():
    assert render("[{{ policy.nothing }}]", {"policy": {}}) == "[]"
