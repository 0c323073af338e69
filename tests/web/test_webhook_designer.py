"""The outbound webhook step in the designer and the API: its method, headers (secret values
masked, kept across saves), body template and expected codes, and what a bad one is told."""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa
from markupsafe import escape

from governance.engine.models import Workflow, WorkflowVersion
from tests.factories import count_rows, make_workflow, step

URL = "http://127.0.0.1:9/hook"
TOKEN = "Bearer s3cr3t-token-4711"


def _form(**overrides) -> dict:
    base = {
        "name": "Tell the ticket system",
        "description": "",
        "trigger-type": "manual",
        "stage-0-present": "1",
        "stage-0-step-0-key": "hook",
        "stage-0-step-0-type": "webhook",
        "stage-0-step-0-cfg-url": URL,
        "stage-0-step-0-cfg-method": "POST",
        "stage-0-step-0-cfg-body": "",
        "stage-0-step-0-cfg-expected_status": "200-299",
        "stage-0-step-0-cfg-connect_timeout": "5",
        "stage-0-step-0-cfg-read_timeout": "10",
        "stage-0-step-0-retry-attempts": "5",
        "stage-0-step-0-retry-backoff": "exponential",
        "stage-0-step-0-retry-base_seconds": "10",
        "op": "save",
    }
    return base | overrides


def _headers(*rows) -> dict:
    """The designer's header rows: (name, value, secret) each."""
    form = {}
    for index, (name, value, secret) in enumerate(rows):
        prefix = f"stage-0-step-0-cfg-headers-{index}-"
        form[prefix + "name"] = name
        form[prefix + "value"] = value
        if secret:
            form[prefix + "secret"] = "1"
    return form


def _configs(db, workflow_id: int) -> list[dict]:
    versions = db.session.scalars(
        sa.select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.number)
    )
    return [version.definition["stages"][0]["steps"][0]["config"] for version in versions]


def _hook_workflow(admin):
    headers = [
        {"name": "X-Team", "value": "grc"},
        {"name": "Authorization", "value": TOKEN, "secret": True},
    ]
    config = {"url": URL, "method": "PATCH", "headers": headers, "expected_status": "200, 204"}
    return make_workflow(
        admin,
        name="Tell the ticket system",
        trigger={"type": "manual"},
        stages=[[step("hook", "webhook", config)]],
    )


def test_the_designer_shows_the_headers_and_masks_the_secret_one(
    loopback_webhooks, db, users, as_role
):
    workflow = _hook_workflow(users["admin"])

    html = as_role("admin").get(f"/workflows/{workflow.id}/edit").get_data(as_text=True)

    assert '<option value="PATCH" selected>PATCH</option>' in html
    assert 'name="stage-0-step-0-cfg-headers-0-name" value="X-Team"' in html
    assert 'name="stage-0-step-0-cfg-headers-0-value" value="grc"' in html
    assert (
        '<input type="password" id="stage-0-step-0-cfg-headers-1-value" '
        'name="stage-0-step-0-cfg-headers-1-value" value="" autocomplete="off" '
        'placeholder="Saved; leave empty to keep it">'
    ) in html
    assert 'name="stage-0-step-0-cfg-headers-1-secret" value="1" checked' in html
    assert 'name="stage-0-step-0-cfg-headers-3-name" value=""' in html  # rows to add more
    assert "s3cr3t" not in html
    assert 'value="200, 204"' in html


def test_a_save_that_leaves_a_secret_header_empty_keeps_it(
    loopback_webhooks, db, users, as_role, api_as
):
    workflow = _hook_workflow(users["admin"])
    form = _form(
        **_headers(("X-Team", "risk", False), ("Authorization", "", True), ("", "", False))
    )

    saved = as_role("admin").submit(f"/workflows/{workflow.id}/edit", form)

    assert saved.status_code == 302
    assert _configs(db, workflow.id)[-1]["headers"] == [
        {"name": "X-Team", "value": "risk", "secret": False},
        {"name": "Authorization", "value": TOKEN, "secret": True},
    ]
    client = api_as("admin")
    answer = client.get(f"workflows/{workflow.id}").json
    config = answer["definition"]["stages"][0]["steps"][0]["config"]
    assert config["headers"] == [
        {"name": "X-Team", "value": "risk", "secret": False},
        {"name": "Authorization", "secret": True},
    ]
    assert "s3cr3t" not in str(answer)
    put = client.request("PUT", f"workflows/{workflow.id}", json=answer)
    assert put.status_code == 200, put.json
    assert _configs(db, workflow.id)[-1]["headers"][1]["value"] == TOKEN
    # A new value replaces it.
    form |= _headers(("X-Team", "risk", False), ("Authorization", "Bearer rotated", True))
    assert as_role("admin").submit(f"/workflows/{workflow.id}/edit", form).status_code == 302
    assert _configs(db, workflow.id)[-1]["headers"][1]["value"] == "Bearer rotated"


def test_the_api_documents_the_webhook_config(api_as):
    document = api_as(None).get("openapi.json").json

    step_in = document["components"]["schemas"]["StepIn"]["properties"]
    [config] = [o for o in step_in["config"]["anyOf"] if o.get("title") == "WebhookStepConfig"]
    properties = config["properties"]
    assert properties["method"]["enum"] == ["POST", "PUT", "PATCH", "DELETE", "GET"]
    assert properties["headers"]["type"] == "array"
    assert "write-only" in properties["headers"]["items"]["properties"]["value"]["description"]
    assert {"body", "expected_status"} <= set(properties)


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        (
            _headers(("Host", "example.org", False)),
            "headers",
            "The Host header cannot be set",
        ),
        (
            _headers(("Content-Length", "12", False)),
            "headers",
            "The Content-Length header cannot be set",
        ),
        (
            _headers(("Transfer-Encoding", "chunked", False)),
            "headers",
            "The Transfer-Encoding header cannot be set",
        ),
        (
            _headers(("webhook-signature", "v1,forged", False)),
            "headers",
            "The webhook-signature header cannot be set",
        ),
        (
            _headers(("X-One", "a", False), ("x-one", "b", False)),
            "headers",
            "The x-one header is listed twice.",
        ),
        (_headers(("Bad Name", "x", False)), "headers", "is not a header name"),
        (_headers(("", "orphan", False)), "headers", "A header value needs a name."),
        (_headers(("Authorization", "", True)), "headers", "Give the Authorization header"),
        (
            {"stage-0-step-0-cfg-body": '{\n  "title": "x",\n  "n": }'},
            "body",
            "The body is not valid JSON: Expecting value at line 3, column 8",
        ),
        (
            {"stage-0-step-0-cfg-body": '{"title": {{ policy.title }}}'},
            "body",
            "write a template value as {{ … | tojson }}",
        ),
        (
            {"stage-0-step-0-cfg-body": '{"title": {{ policy.nope | tojson }}}'},
            "body",
            "policy.nope",
        ),
        (
            {"stage-0-step-0-cfg-method": "GET", "stage-0-step-0-cfg-body": "{}"},
            "body",
            "A GET request sends no body",
        ),
        ({"stage-0-step-0-cfg-method": "TRACE"}, "method", "Choose one of POST, PUT"),
        (
            {"stage-0-step-0-cfg-expected_status": "2xx"},
            "expected_status",
            "“2xx” is not a status code or a range",
        ),
        (
            {"stage-0-step-0-cfg-expected_status": "299-200"},
            "expected_status",
            "a range goes from the lower code to the higher",
        ),
        (
            {"stage-0-step-0-cfg-expected_status": "200, 700"},
            "expected_status",
            "HTTP status codes are 100 to 599",
        ),
    ],
)
def test_a_bad_webhook_config_is_answered_on_its_field_and_nothing_is_saved(
    loopback_webhooks, db, users, as_role, overrides, path, message
):
    response = as_role("admin").submit("/workflows/new", _form(**overrides))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<code>stages.0.steps.0.config.{path}</code>" in page
    assert str(escape(message)) in page
    assert count_rows(db, Workflow) == 0


def test_a_good_webhook_config_is_saved_cleaned(loopback_webhooks, db, users, as_role):
    form = _form(
        **{
            "stage-0-step-0-cfg-method": "put",
            "stage-0-step-0-cfg-body": '{"title": {{ policy.title | tojson }}}',
            "stage-0-step-0-cfg-expected_status": "200 - 204, 409",
        },
        **_headers(("X-Team", "grc", False)),
    )

    assert as_role("admin").submit("/workflows/new", form).status_code == 302

    workflow = db.session.scalar(sa.select(Workflow))
    config = _configs(db, workflow.id)[-1]
    assert config["method"] == "PUT"
    assert config["expected_status"] == "200-204, 409"
    assert config["headers"] == [{"name": "X-Team", "value": "grc", "secret": False}]
    assert config["body"] == '{"title": {{ policy.title | tojson }}}'


def test_the_dry_run_renders_the_body_and_gives_later_steps_a_response(
    loopback_webhooks, db, users, as_role
):
    from tests.factories import make_policy

    first = step("hook", "webhook", {"url": URL, "body": '{"t": {{ policy.title | tojson }}}'})
    later = step(
        "comment",
        "webhook",
        {"url": URL, "body": '{"ticket": {{ steps.hook.output.response | tojson }}}'},
    )
    workflow = make_workflow(
        users["admin"], name="Dry", trigger={"type": "manual"}, stages=[[first], [later]]
    )
    policy = make_policy(users["owner"], title="Access control")

    page = as_role("admin").get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "POST to http://127.0.0.1:9/hook" in html
    # The later step's output keeps a `response` key (None until a request is sent): shown in
    # the output's raw JSON, HTML-escaped inside the page.
    assert '"response": null' in unescape(html)
    assert "Undefined:" not in html
