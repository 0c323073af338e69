"""Step templates render in a sandbox: data in, no way to reach Python internals."""

import pytest

from governance.engine.templating import (
    TemplateError,
    TemplateTooExpensive,
    TemplateUndefined,
    check_template,
    render,
    undefined_names_recorded,
)


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


HOOK = {"steps": {"hook1": {"output": {"status": 200, "ids": [1, 2]}, "status": "succeeded"}}}


def test_dicts_and_lists_render_as_json_not_python_repr():
    assert render("{{ steps.hook1.output }}", HOOK) == '{"status": 200, "ids": [1, 2]}'
    assert render("ids: {{ steps.hook1.output.ids }}", HOOK) == "ids: [1, 2]"
    assert (
        render("{{ 'out: ' ~ steps.hook1.output }}", HOOK) == 'out: {"status": 200, "ids": [1, 2]}'
    )


def test_tojson_writes_plain_json_with_an_optional_indent():
    data = {"trigger": {"note": "<b>R&D</b>", "ids": [1]}}
    assert render("{{ trigger | tojson }}", data) == '{"note": "<b>R&D</b>", "ids": [1]}'
    assert render("{{ trigger.ids | tojson(indent=2) }}", data) == "[\n  1\n]"


@pytest.mark.parametrize("indent", ["100", "-1", "'2'", "true"])
def test_tojson_refuses_an_indent_outside_0_to_8(indent):
    with pytest.raises(TemplateError, match="indent is a number from 0 to 8"):
        render(f"{{{{ trigger | tojson({indent}) }}}}", {"trigger": {"a": 1}})


def test_tojson_refuses_a_short_list_of_long_texts_before_building_it():
    with pytest.raises(TemplateTooExpensive, match="at most 100,000"):
        render("{{ ([text] * 1000) | tojson }}", {"text": "x" * 1000})
    with pytest.raises(TemplateTooExpensive, match="at most 100,000"):
        render("{{ [text] * 1000 }}", {"text": "x" * 1000})


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("{{ steps.hook1.output.status_code }}", "steps.hook1.output.status_code"),
        ("{{ steps.hook2.output.status }}", "steps.hook2"),
        ("{{ polcy.title }}", "polcy"),
        ("{% if steps.hook1.output.missing %}yes{% endif %}", "steps.hook1.output.missing"),
        ("{{ steps.hook1.output.missing | upper }}", "steps.hook1.output.missing"),
        ("{% for x in steps.hook1.output.missing %}{% endfor %}", "steps.hook1.output.missing"),
    ],
)
def test_an_undefined_name_fails_the_render_and_says_which(source, name):
    with pytest.raises(TemplateUndefined, match=f"Undefined name in the template: {name} "):
        render(source, HOOK)


def test_default_and_is_defined_cover_a_missing_name():
    source = (
        "{{ steps.hook1.output.status_code | default('none') }} "
        "{{ steps.hook2.output.status | default('skipped') }} "
        "{% if polcy is defined %}{{ polcy }}{% else %}no{% endif %}"
    )
    assert render(source, HOOK) == "none skipped no"


def test_a_dry_run_records_undefined_names_and_renders_them_empty():
    with undefined_names_recorded() as names:
        text = render("[{{ steps.hook1.output.code }}][{{ polcy }}][{{ polcy }}]", HOOK)
    assert text == "[][][]"
    assert names == ["steps.hook1.output.code", "polcy"]
