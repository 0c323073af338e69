"""The designer's AND/OR condition groups and template tools, through HTTP: group buttons, the
conditions in words (designer, workflow page, dry run), and the template preview endpoint."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.engine.models import Workflow
from governance.workflows import service as workflows
from tests import factories
from tests.factories import count_rows, make_workflow, step
from tests.web.test_workflows import _form

HTMX = {"HX-Request": "true"}
SENTENCE = "status is in review AND (category is Security OR tags contain pci)"
GROUPED = {
    "cond-match": "all",
    "cond-0-field": "policy.status",
    "cond-0-op": "equals",
    "cond-0-value": "in_review",
    "cond-1-match": "any",
    "cond-1-0-field": "policy.category",
    "cond-1-0-op": "equals",
    "cond-1-0-value": "Security",
    "cond-1-1-field": "policy.tags",
    "cond-1-1-op": "contains",
    "cond-1-1-value": "pci",
}
NOTIFY = {
    "stage-0-step-0-key": "tell",
    "stage-0-step-0-type": "notify",
    "stage-0-step-0-cfg-to_owner": "1",
    "stage-0-step-0-cfg-subject": "{{ policy.title }} is {{ policy.status }}",
}


def test_group_buttons_edit_the_conditions_in_place(as_role, users, db):
    admin = as_role("admin")
    page = admin.submit("/workflows/new", _form(op="add_group"), headers=HTMX)
    html = page.get_data(as_text=True)
    assert 'name="cond-0-match"' in html and 'name="cond-0-0-field"' in html
    assert 'value="add_group_condition:0"' in html
    more = admin.submit(
        "/workflows/new",
        _form(**GROUPED, op="add_group_condition:1"),
        headers=HTMX,
    ).get_data(as_text=True)
    assert 'name="cond-1-2-field"' in more and 'value="remove_group_condition:1:2"' in more
    fewer = admin.submit(
        "/workflows/new", _form(**GROUPED, op="remove_group_condition:1:0")
    ).get_data(as_text=True)
    assert 'name="cond-1-1-field"' not in fewer
    assert "status is in review AND tags contain pci" in fewer
    assert count_rows(db, Workflow) == 0


def test_a_grouped_design_is_saved_and_its_workflow_page_says_it_in_words(as_role, users, db):
    admin = as_role("admin")
    response = admin.submit("/workflows/new", _form(**GROUPED))
    assert response.status_code == 302, response.get_data(as_text=True)
    workflow = db.session.scalar(sa.select(Workflow))
    definition = workflows.latest_version(workflow).definition
    assert definition["conditions_match"] == "all"
    assert definition["conditions"][1] == {
        "match": "any",
        "conditions": [
            {"field": "policy.category", "op": "equals", "value": "Security"},
            {"field": "policy.tags", "op": "contains", "value": "pci"},
        ],
    }
    page = admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert f"Starts only when {SENTENCE}" in page
    editing = admin.get(f"/workflows/{workflow.id}/edit").get_data(as_text=True)
    assert SENTENCE in editing and 'name="cond-1-1-value" value="pci"' in editing


def test_the_sentence_follows_the_form_as_it_changes(as_role, users, db):
    answer = as_role("admin").submit(
        "/workflows/new", _form(**GROUPED | {"cond-match": "any"}, op="refresh"), headers=HTMX
    )
    assert "status is in review OR (category is Security OR tags contain pci)" in (
        answer.get_data(as_text=True)
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cond-2-match": "any"}, "This group is empty: add a condition or remove the group."),
        ({"cond-1-1-field": "policy.secret"}, "Unknown field “policy.secret”"),
        ({"cond-1-match": "most"}, "Match “all” (every condition must hold)"),
    ],
)
def test_a_bad_group_is_answered_at_its_place_and_nothing_is_saved(
    as_role, users, db, overrides, message
):
    response = as_role("admin").submit("/workflows/new", _form(**GROUPED | overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count_rows(db, Workflow) == 0


def test_a_version_saved_before_groups_reads_as_before(as_role, users, db):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        conditions=[{"field": "policy.category", "op": "equals", "value": "Security"}],
        stages=[[step("todo", "create_task", {"title": "One", "assignee": "owner"})]],
    )
    version = workflows.latest_version(workflow)
    version.definition = {
        key: value for key, value in version.definition.items() if key != "conditions_match"
    }
    db.session.commit()
    page = as_role("admin").get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert "Starts only when category is Security" in page
    factories.make_policy(users["owner"], category="Security")
    factories.make_policy(users["owner"], category="HR")
    assert len(workflows.recent_executions(workflow.id, limit=5)) == 1


def test_the_dry_run_says_each_condition_and_group_in_words(as_role, users, db):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        conditions=[
            {"field": "policy.status", "op": "equals", "value": "draft"},
            {
                "match": "any",
                "conditions": [
                    {"field": "policy.category", "op": "equals", "value": "Security"},
                    {"field": "policy.tags", "op": "contains", "value": "pci"},
                ],
            },
        ],
        stages=[[step("todo", "create_task", {"title": "One", "assignee": "owner"})]],
        activate=False,
    )
    policy = factories.make_policy(users["owner"], category="HR", tags="pci")
    page = as_role("admin").get(f"/workflows/{workflow.id}/dry-run?policy_id={policy.id}")
    html = page.get_data(as_text=True)
    assert "status is draft AND (category is Security OR tags contain pci)" in html
    assert "would start" in html
    assert "a group where any one must hold" in html and "✘" in html


def _preview(client, fields: dict, field="stage-0-step-0-cfg-subject", **kwargs):
    data = _form(**NOTIFY | fields) | {"preview_field": field}
    data.pop("op")
    return client.submit(
        "/workflows/template-preview", data, token_from="/workflows/new", headers=HTMX, **kwargs
    )


def test_the_preview_renders_a_template_against_the_chosen_policy_escaped(as_role, users, db):
    policy = factories.make_policy(users["owner"], title="<b>Travel</b>")
    answer = _preview(
        as_role("admin"), {"preview-policy-stage-0-step-0-cfg-subject": str(policy.id)}
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert '<pre class="template-output">' in html and "<form" not in html
    assert "&lt;b&gt;Travel&lt;/b&gt; is draft" in html and "<b>Travel" not in html


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("{{ policy.titel }}", "Unknown name(s): policy.titel (a policy has no field titel)."),
        ("{{ policy.title ", "line 1: unexpected end of template"),
        ("{{ steps.later.output }}", "no step later in an earlier stage"),
    ],
)
def test_the_preview_shows_what_is_wrong_with_the_template(as_role, users, db, subject, message):
    fields = {"stage-0-step-0-cfg-subject": subject}
    html = _preview(as_role("admin"), fields).get_data(as_text=True)
    assert 'class="template-error"' in html
    assert message in html


def test_the_preview_lists_an_earlier_steps_output_as_known_only_when_it_runs(as_role, users, db):
    fields = {
        "stage-1-present": "1",
        "stage-1-step-0-key": "tell_again",
        "stage-1-step-0-type": "notify",
        "stage-1-step-0-cfg-to_owner": "1",
        "stage-1-step-0-cfg-subject": "Sent: {{ steps.tell.output.sent }}",
    }
    html = _preview(as_role("admin"), fields, field="stage-1-step-0-cfg-subject").get_data(
        as_text=True
    )
    assert "Sent: " in html and "<code>steps.tell.output.sent</code>" in html


def test_without_javascript_the_preview_button_renders_the_designer_with_it(as_role, users, db):
    policy = factories.make_policy(users["owner"], title="Travel")
    fields = _form(**NOTIFY, op="preview") | {
        "preview-policy-stage-0-step-0-cfg-subject": str(policy.id)
    }
    html = as_role("admin").submit("/workflows/new", fields).get_data(as_text=True)
    assert "<h1>New workflow</h1>" in html and "Travel is draft" in html
    assert f'<option value="{policy.id}" selected>' in html
    assert "<code>policy.title</code>" in html  # the names to insert, as a list
    assert count_rows(db, Workflow) == 0


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_preview_templates(as_role, users, db, role):
    client = as_role(role)
    data = _form(**NOTIFY) | {"preview_field": "stage-0-step-0-cfg-subject"}
    data["csrf_token"] = client.csrf_token()
    assert client.post("/workflows/template-preview", data=data).status_code == 403


def test_a_preview_without_its_token_or_of_no_template_field_is_refused(as_role, users, db):
    admin = as_role("admin")
    data = _form(**NOTIFY) | {"preview_field": "stage-0-step-0-cfg-subject"}
    assert admin.post("/workflows/template-preview", data=data).status_code == 400
    assert _preview(admin, {}, field="stage-0-step-0-cfg-to_owner").status_code == 400
    assert _preview(admin, {}, field="stage-9-step-0-cfg-subject").status_code == 400


def test_a_preview_policy_that_does_not_exist_is_said_so(as_role, users, db):
    fields = {"preview-policy-stage-0-step-0-cfg-subject": "9999"}
    html = _preview(as_role("admin"), fields).get_data(as_text=True)
    assert "There is no policy 9999; choose one from the list." in html


def test_a_template_field_lists_only_the_steps_of_earlier_stages(as_role, users, db):
    fields = _form(**NOTIFY, op="refresh") | {
        "stage-1-present": "1",
        "stage-1-step-0-key": "again",
        "stage-1-step-0-type": "notify",
        "stage-1-step-0-cfg-subject": "",
    }
    html = as_role("admin").submit("/workflows/new", fields).get_data(as_text=True)
    first, second = html.split('id="step-1-0"')
    assert "<code>steps.tell.output</code>" not in first
    assert "<code>steps.tell.output</code>" in second and "<code>steps.tell.status</code>" in second
