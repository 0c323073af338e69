"""The outbound webhook step's config, piece by piece: expected status codes, headers, the
JSON body check, what the log keeps of the headers, and the designer's header rows."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from governance.webhooks.body import BodyNotJson, check_body_template, check_json
from governance.webhooks.headers import clean_headers, logged_headers
from governance.webhooks.outbound import DeliveryResult, classify
from governance.webhooks.status_codes import BadStatusCodes, parse_status_codes
from governance.workflows import editor


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("", [200, 204, 299], [199, 300, 404]),
        ("200-299", [200, 250], [301]),
        ("200, 201, 204", [200, 201, 204], [202, 203]),
        ("200-204,409", [203, 409], [205, 410]),
    ],
)
def test_expected_codes_say_which_statuses_are_delivered(text, inside, outside):
    codes = parse_status_codes(text)

    assert all(status in codes for status in inside)
    assert not any(status in codes for status in outside)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2xx", "“2xx” is not a status code or a range: write e.g. 200-299 or 200, 201, 204."),
        ("200,", "“” is not a status code or a range"),
        ("99", "“99” is not a status code or a range"),
        ("600", "“600”: HTTP status codes are 100 to 599."),
        ("204-200", "“204-200”: a range goes from the lower code to the higher."),
        (",".join(["200"] * 21), "At most 20 codes or ranges."),
    ],
)
def test_bad_expected_codes_say_what_is_wrong(text, message):
    with pytest.raises(BadStatusCodes) as refused:
        parse_status_codes(text)

    assert message in str(refused.value)


def test_the_expected_codes_decide_the_verdict_and_429_and_5xx_still_retry():
    only_201 = parse_status_codes("201")

    assert classify(DeliveryResult(status=201), expected=only_201) == ("succeeded", None)
    assert classify(DeliveryResult(status=200), expected=only_201) == ("failed", None)
    assert classify(DeliveryResult(status=503), expected=only_201) == ("retry", None)
    assert classify(DeliveryResult(status=500), expected=parse_status_codes("500")) == (
        "succeeded",
        None,
    )


@pytest.mark.parametrize(
    "name", ["Host", "content-length", "Transfer-Encoding", "Connection", "Webhook-Id", "TE"]
)
def test_hop_by_hop_and_signature_headers_are_refused(name):
    _, problem = clean_headers([{"name": name, "value": "x"}])

    assert problem is not None
    assert problem.startswith(f"The {name} header cannot be set")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}], "listed twice"),
        ([{"name": "X A", "value": "1"}], "is not a header name"),
        ([{"name": "", "value": "1"}], "A header value needs a name."),
        ([{"name": "X-A", "value": "a\r\nInjected: yes"}], "may not contain line breaks"),
        ([{"name": "X-A", "value": ""}], "Give the X-A header a value, or remove it."),
        ([{"name": f"X-{n}", "value": "v"} for n in range(21)], "At most 20 headers."),
    ],
)
def test_bad_headers_say_what_is_wrong(rows, message):
    _, problem = clean_headers(rows)

    assert problem is not None and message in problem


def test_headers_are_cleaned_and_empty_rows_dropped():
    rows, problem = clean_headers(
        [
            {"name": " X-Team ", "value": "grc"},
            {"name": "", "value": ""},
            {"name": "Authorization", "value": "Bearer t", "secret": "1"},
        ]
    )

    assert problem is None
    assert rows == [
        {"name": "X-Team", "value": "grc", "secret": False},
        {"name": "Authorization", "value": "Bearer t", "secret": True},
    ]


def test_the_log_hides_the_secret_header_values():
    rows = [{"name": "Authorization", "value": "Bearer t", "secret": True}]

    logged = logged_headers({"Authorization": "Bearer t", "webhook-id": "m1"}, rows)

    assert logged == {"authorization": "[hidden]", "webhook-id": "m1"}


def test_a_body_that_is_not_json_is_told_where():
    with pytest.raises(BodyNotJson) as refused:
        check_json('{\n  "a": 1,\n  "b": 2,,\n}')

    assert str(refused.value) == (
        "The body is not valid JSON: Expecting property name enclosed in double quotes at "
        'line 3, column 10, in “"b": 2,,”.'
    )


@pytest.mark.parametrize(
    "source",
    [
        "",
        '{"a": 1}',
        '{"title": {{ policy.title | tojson }}, "where": "{{ policy.title }} in {{ trigger.x }}"}',
        '{"tags": [{% for tag in policy.tags %}{{ tag | tojson }}{{ "," if not loop.last }}'
        "{% endfor %}]}",
        '{"answer": {{ steps.hook.output.response | tojson }}}',
    ],
)
def test_a_body_template_that_renders_to_json_passes(source):
    assert check_body_template(source) is None


def test_a_value_outside_quotes_is_told_to_use_tojson():
    problem = check_body_template('{\n  "title": {{ policy.title }}\n}')

    assert problem == (
        "The body is not valid JSON: Expecting value at line 2, column 12 of the body rendered "
        'with stand-ins, in “"title": stand-in”. Outside quotes, write a template value as '
        "{{ … | tojson }}."
    )


def test_a_body_template_that_does_not_parse_says_so():
    problem = check_body_template('{"a": {{ policy.title }')

    assert problem is not None and problem.startswith("The body template does not render: line 1")


def test_the_designer_header_rows_become_a_list_in_row_order():
    form = MultiDict(
        [
            ("stage-0-present", "1"),
            ("stage-0-step-0-key", "hook"),
            ("stage-0-step-0-type", "webhook"),
            ("stage-0-step-0-cfg-url", "https://example.org/hook"),
            ("stage-0-step-0-cfg-headers-1-name", "Authorization"),
            ("stage-0-step-0-cfg-headers-1-value", ""),
            ("stage-0-step-0-cfg-headers-1-secret", "1"),
            ("stage-0-step-0-cfg-headers-0-name", "X-Team"),
            ("stage-0-step-0-cfg-headers-0-value", "grc"),
        ]
    )

    draft = editor.parse(form, lambda step_type: frozenset())

    config = draft["stages"][0]["steps"][0]["config"]
    assert config == {
        "url": "https://example.org/hook",
        "headers": [
            {"name": "X-Team", "value": "grc"},
            {"name": "Authorization", "value": "", "secret": "1"},
        ],
    }


def test_a_body_cut_by_the_render_limit_is_refused_not_sent():
    from governance.webhooks.body import render_body

    with pytest.raises(BodyNotJson) as refused:
        render_body('{"x": "{{ "a" * 30000 }}"}', {})

    assert "longer than 20,000 characters" in str(refused.value)
