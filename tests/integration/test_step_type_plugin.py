"""A step type is one module: tests/slack_message.py (a secret webhook URL and a message
template), registered as a feature registers its own, works everywhere with no other edit:
the definition's validator, the designer, the API and its schema, a real delivery, the
timeline's, the dry run's and the workflow page's redaction and the carry-over of its secret
across saves."""

from __future__ import annotations

import json
from html import unescape

import pytest
import sqlalchemy as sa

from governance.engine.definition import DefinitionError, validate_definition
from governance.engine.models import Execution, StepRun, WorkflowVersion
from governance.engine.steps import (
    Outcome,
    StepContext,
    register_step_type,
    step_types,
    unregister_step_type,
)
from governance.workflows import service as workflows
from tests import factories, slack_message

TEXT = "Please review {{ policy.title }}"


@pytest.fixture
def slack(app):
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    slack_message.register(app)
    yield
    unregister_step_type(slack_message.SlackMessage.name)
    app.config["WEBHOOK_ALLOWLIST"] = []


def _slack_workflow(admin, url: str):
    return factories.make_workflow(
        admin,
        name="Tell Slack",
        trigger={"type": "manual"},
        stages=[[factories.step("slack", "slack_message", {"webhook_url": url, "text": TEXT})]],
    )


def _run(db, workflow, users) -> Execution:
    policy = factories.make_policy(users["owner"], title="Access control")
    execution_id = workflows.run_manually(workflow.id, policy_id=policy.id, actor=users["admin"])
    factories.run_queued_steps()
    db.session.expire_all()
    return db.session.get(Execution, execution_id)


def _saved_configs(db, workflow_id: int) -> list[dict]:
    versions = db.session.scalars(
        sa.select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.number)
    )
    return [version.definition["stages"][0]["steps"][0]["config"] for version in versions]


def test_registering_again_changes_nothing_and_a_taken_name_is_refused(app, slack):
    registered = step_types()["slack_message"]
    slack_message.register(app)  # every create_app registers its features again

    assert step_types()["slack_message"] is registered

    class Impostor(slack_message.SlackMessage):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_step_type(Impostor)


def test_it_validates_in_a_definition_like_any_step_type(slack, db, users):
    raw = {
        "trigger": {"type": "manual"},
        "conditions": [],
        "stages": [{"steps": [factories.step("slack", "slack_message", {"text": "{{ nope }}"})]}],
    }
    with pytest.raises(DefinitionError) as refused:
        validate_definition(raw)
    assert set(refused.value.errors) == {
        "stages.0.steps.0.config.webhook_url",
        "stages.0.steps.0.config.text",
    }
    raw["stages"][0]["steps"][0]["config"] = {"webhook_url": "http://127.0.0.1:9/x", "text": TEXT}
    clean = validate_definition(raw)
    assert clean["stages"][0]["steps"][0]["config"] == {
        "webhook_url": "http://127.0.0.1:9/x",
        "text": TEXT,
    }


def test_the_designer_offers_it_and_masks_its_secret(slack, db, users, as_role):
    url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
    workflow = _slack_workflow(users["admin"], url)

    html = as_role("admin").get(f"/workflows/{workflow.id}/edit").get_data(as_text=True)

    assert '<option value="slack_message" selected>Slack message</option>' in html
    assert (
        '<input type="password" id="stage-0-step-0-cfg-webhook_url" '
        'name="stage-0-step-0-cfg-webhook_url" value="" autocomplete="off" '
        'placeholder="Saved; leave empty to keep it">'
    ) in html
    assert "very-secret-token" not in html
    assert "Please review {{ policy.title }}" in html


def test_the_api_schema_lists_it_with_its_secret_write_only(slack, api_as):
    document = api_as(None).get("openapi.json").json

    step_in = document["components"]["schemas"]["StepIn"]["properties"]
    assert "slack_message" in step_in["type"]["enum"]
    [config] = [
        option
        for option in step_in["config"]["anyOf"]
        if option.get("title") == "SlackMessageStepConfig"
    ]
    assert config["properties"]["webhook_url"]["writeOnly"] is True
    assert config["properties"]["webhook_url"]["format"] == "uri"
    assert "writeOnly" not in config["properties"]["text"]


def test_an_execution_posts_the_message_to_a_real_receiver(slack, db, users, receiver):
    workflow = _slack_workflow(users["admin"], receiver.url("/services/T000/B000/token"))

    execution = _run(db, workflow, users)

    assert execution.status == "succeeded"
    [request] = receiver.requests
    assert request.path == "/services/T000/B000/token"
    assert json.loads(request.body) == {"text": "Please review Access control"}
    run = db.session.scalar(sa.select(StepRun).where(StepRun.execution_id == execution.id))
    assert run.output == {"text": "Please review Access control", "status": 204}
    assert request.headers["idempotency-key"] == f"steward-step-run-{run.id}"


def test_the_timeline_never_shows_the_secret_url(slack, db, users, receiver, as_role, api_as):
    # A redirect is a permanent failure whose error names the URL.
    url = receiver.url("/redirect")
    workflow = _slack_workflow(users["admin"], url)

    execution = _run(db, workflow, users)

    assert execution.status == "failed"
    run = db.session.scalar(sa.select(StepRun).where(StepRun.execution_id == execution.id))
    assert url in run.error  # as recorded; never as shown
    page = as_role("admin").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert url not in page and "HTTP 302 from [hidden]" in page
    answer = api_as("admin").get(f"executions/{execution.id}")
    assert answer.status_code == 200
    assert url not in answer.get_data(as_text=True)
    assert answer.json["stages"][0]["steps"][0]["error"] == "HTTP 302 from [hidden]"


def test_the_dry_run_and_the_workflow_page_never_show_the_secret_url(slack, db, users, as_role):
    url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
    workflow = _slack_workflow(users["admin"], url)
    policy = factories.make_policy(users["owner"], title="Access control")
    admin = as_role("admin")

    dry_run = admin.get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")
    page = admin.get(f"/workflows/{workflow.id}")

    assert dry_run.status_code == 200 and page.status_code == 200
    dry_run_html, page_html = dry_run.get_data(as_text=True), page.get_data(as_text=True)
    assert "Post a message to Slack" in dry_run_html and "Post a message to Slack" in page_html
    assert "Please review Access control" in dry_run_html
    assert "very-secret-token" not in dry_run_html
    assert "very-secret-token" not in page_html


class QuotingSlackMessage(slack_message.SlackMessage):
    """A careless step type: its description and its dry run's output quote the secret."""

    name = "quoting_slack_message"

    def describe(self, config):
        return f"Post to {config['webhook_url']}"

    def run(self, context: StepContext) -> Outcome:
        outcome = super().run(context)
        if context.live:
            return outcome
        return Outcome.succeeded(webhook_url=context.config["webhook_url"], **outcome.output)


def test_a_step_type_that_quotes_its_secret_is_hidden_on_the_dry_run_and_workflow_page(
    slack, db, users, as_role
):
    register_step_type(QuotingSlackMessage)
    try:
        url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
        config = {"webhook_url": url, "text": TEXT}
        workflow = factories.make_workflow(
            users["admin"],
            name="Tell Slack loudly",
            trigger={"type": "manual"},
            stages=[[factories.step("slack", QuotingSlackMessage.name, config)]],
        )
        policy = factories.make_policy(users["owner"], title="Access control")
        admin = as_role("admin")

        dry_run = admin.get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")
        page = admin.get(f"/workflows/{workflow.id}")
    finally:
        unregister_step_type(QuotingSlackMessage.name)

    dry_run_html, page_html = dry_run.get_data(as_text=True), page.get_data(as_text=True)
    assert "very-secret-token" not in dry_run_html and "very-secret-token" not in page_html
    assert "Post to [hidden]" in dry_run_html and "Post to [hidden]" in page_html
    # The output's raw JSON, HTML-escaped inside the page, under its key/value table.
    assert '"webhook_url": "[hidden]"' in unescape(dry_run_html)
    assert "Please review Access control" in dry_run_html


def test_a_save_that_leaves_the_secret_empty_keeps_it(slack, db, users, as_role, api_as):
    url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
    workflow = _slack_workflow(users["admin"], url)
    form = {
        "name": "Tell Slack",
        "description": "",
        "trigger-type": "manual",
        "stage-0-present": "1",
        "stage-0-step-0-key": "slack",
        "stage-0-step-0-type": "slack_message",
        "stage-0-step-0-cfg-webhook_url": "",
        "stage-0-step-0-cfg-text": "Reworded: {{ policy.title }}",
        "stage-0-step-0-retry-attempts": "5",
        "stage-0-step-0-retry-backoff": "exponential",
        "stage-0-step-0-retry-base_seconds": "10",
        "op": "save",
    }

    designer = as_role("admin").submit(f"/workflows/{workflow.id}/edit", form)
    assert designer.status_code == 302
    client = api_as("admin")
    answer = client.get(f"workflows/{workflow.id}").json
    assert answer["definition"]["stages"][0]["steps"][0]["config"] == {
        "text": "Reworded: {{ policy.title }}"
    }
    saved = client.request("PUT", f"workflows/{workflow.id}", json=answer)
    assert saved.status_code == 200, saved.json
    assert url not in saved.get_data(as_text=True)

    configs = _saved_configs(db, workflow.id)
    assert [config["webhook_url"] for config in configs] == [url, url, url]
    assert [config["text"] for config in configs] == [TEXT] + 2 * ["Reworded: {{ policy.title }}"]
    # A new value replaces it.
    form["stage-0-step-0-cfg-webhook_url"] = "http://127.0.0.1:9/services/T000/B000/rotated"
    assert as_role("admin").submit(f"/workflows/{workflow.id}/edit", form).status_code == 302
    assert _saved_configs(db, workflow.id)[-1]["webhook_url"].endswith("/rotated")
