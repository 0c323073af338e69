"""Step templates render within a budget: loop iterations and calls are counted, values that
would be huge at once are refused, and recursion cannot run away."""

import pytest

from governance.engine.templating import (
    MAX_RENDERED,
    TemplateError,
    TemplateTooExpensive,
    check_template,
    render,
)

NESTED = "{% for a in range(200) %}{% for b in range(200) %}{% endfor %}{% endfor %}done"


def test_nested_loops_beyond_the_iteration_budget_are_stopped():
    # 40,000 iterations: four times the budget, and nothing in the output to stop it.
    with pytest.raises(TemplateTooExpensive, match="more than 10,000 loop iterations"):
        render(NESTED, {})


def test_nested_loops_over_the_data_are_counted_too():
    body = {"policy": {"body": "x" * 500}}
    with pytest.raises(TemplateTooExpensive, match="Template too expensive"):
        render("{% for a in policy.body %}{% for b in policy.body %}{% endfor %}{% endfor %}", body)


def test_items_skipped_by_a_loop_filter_still_count():
    source = "{% for a in range(150) %}{% for b in range(150) if false %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateTooExpensive):
        render(source, {})


def test_macro_calls_are_counted():
    source = (
        "{% macro twice(n) %}{% if n %}{{ twice(n - 1) }}{{ twice(n - 1) }}{% endif %}"
        "{% endmacro %}{{ twice(16) }}"
    )
    with pytest.raises(TemplateTooExpensive, match="loop iterations or calls"):
        render(source, {})


def test_runaway_recursion_is_a_template_error():
    with pytest.raises(TemplateTooExpensive, match="nested too deeply"):
        render("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", {})


def test_recursive_loops_are_refused_when_the_template_is_checked():
    with pytest.raises(TemplateError, match="recursive loops are not allowed"):
        check_template("{% for x in items recursive %}{{ loop(x) }}{% endfor %}")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x' * 10000000 }}", "a value of 10,000,000 characters or items"),
        ("{{ [0] * 10000000 }}", "a value of 10,000,000 characters or items"),
        ("{{ 2 ** 1000000 }}", "an exponent above 100"),
        ("{{ ''|center(10000000) }}", "a width of 10,000,000"),
        ("{{ ''.ljust(10000000) }}", "a width of 10,000,000"),
        ("{{ '{:10000000}'.format(1) }}", "a format width above 1,000"),
        ("{{ '%10000000s' % 1 }}", "a format width above 1,000"),
        ("{{ '%10000000s'|format(1) }}", "a format width above 1,000"),
        ("{{ range(1000000)|list|length }}", "a range of more than 10,000 numbers"),
    ],
)
def test_one_operation_cannot_build_a_huge_value(source, message):
    with pytest.raises(TemplateTooExpensive, match=message):
        render(source, {})


def test_the_time_budget_stops_a_render_that_takes_too_long():
    with pytest.raises(TemplateTooExpensive, match="ran longer than"):
        render("{% for i in range(3) %}{{ i }}{% endfor %}", {}, seconds=-1)


def test_ordinary_templates_still_render():
    data = {"policy": {"title": "Travel", "tags": ["a", "b"]}, "steps": {}}
    source = (
        "{{ policy.title|upper }}: {% for tag in policy.tags %}{{ loop.index }}={{ tag }} "
        "{% endfor %}{{ '{:,}'.format(1234567) }} {{ '%05d'|format(42) }} {{ 2 ** 10 }}"
        "{% for i in range(3) %}{% for j in range(3) %}.{% endfor %}{% endfor %}"
    )
    assert render(source, data) == "TRAVEL: 1=a 2=b 1,234,567 00042 1024........."


def test_output_is_cut_at_the_limit():
    text = render("{% for i in range(5000) %}{{ 'y' * 100 }}{% endfor %}", {})
    assert text == "y" * MAX_RENDERED


def test_an_unknown_filter_is_a_template_error_when_checked_and_rendered():
    with pytest.raises(TemplateError, match="No filter named 'nofilter'"):
        check_template("{{ policy.title|nofilter }}")
    with pytest.raises(TemplateError, match="No filter named 'nofilter'"):
        render("{{ policy.title|nofilter }}", {})


@pytest.mark.parametrize(
    "source",
    [
        # Each doubles a value in a loop: 40 rounds would be a terabyte.
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}",
        "{% macro twice(s) %}{{ s }}{{ s }}{% endmacro %}{% set ns = namespace(s='x') %}"
        "{% for i in range(40) %}{% set ns.s = twice(ns.s) %}{% endfor %}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set block %}{{ ns.s }}"
        "{{ ns.s }}{% endset %}{% set ns.s = block %}{% endfor %}",
        # One step from a small value to a huge one.
        "{{ ('x' * 20000)|replace('x', 'y' * 20000) }}",
        "{{ ('x' * 20000).replace('x', 'y' * 20000) }}",
        "{{ ([1] * 20000)|join('z' * 20000) }}",
    ],
)
def test_values_cannot_grow_past_the_size_cap(source):
    with pytest.raises(TemplateTooExpensive, match="at most 100,000"):
        render(source, {})
