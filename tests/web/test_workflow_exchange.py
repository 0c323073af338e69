"""Workflows in and out, through HTTP: export a version as YAML or JSON, import it back (a new
workflow or a new version), every refusal of a bad file with nothing written, the comparison of
two versions, and the template gallery."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa
import yaml

from governance.audit.models import AuditEvent
from governance.auth.models import Group
from governance.engine.models import Workflow, WorkflowVersion
from governance.workflows import gallery, workflow_file
from governance.workflows import service as workflows
from tests import factories, slack_message
from tests.factories import count_rows, make_workflow, step


@pytest.fixture
def slack(app):
    """A step type with a secret field (the Slack webhook URL), as a plugin registers it."""
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    slack_message.register(app)
    yield
    from governance.engine.steps import unregister_step_type

    unregister_step_type(slack_message.SlackMessage.name)
    app.config["WEBHOOK_ALLOWLIST"] = []


SLACK_URL = "http://127.0.0.1:9/services/T000/B000/very-secret-token"


def _rich_workflow(users, **extra):
    """Users and groups in every kind of reference field, a condition, two stages."""
    legal = users["approver"].groups[0]
    return make_workflow(
        users["admin"],
        name=extra.pop("name", "Review on submit"),
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        conditions=[{"field": "policy.category", "op": "equals", "value": "Security"}],
        stages=[
            [
                step(
                    "legal",
                    "approval",
                    {
                        "users": [users["approver"].id],
                        "groups": [legal.id],
                        "escalate_user_id": users["admin"].id,
                        "due_hours": 24,
                    },
                ),
                step("todo", "create_task", {"title": "Check", "assignee": str(users["owner"].id)}),
                step("team", "create_task", {"title": "All", "assignee_group_id": legal.id}),
            ],
            [
                step("hand", "assign", {"role": "owner", "user_id": users["owner"].id}),
                step("tell", "notify", {"to_owner": True, "subject": "{{ policy.title }}"}),
                *extra.pop("more_steps", []),
            ],
        ],
        **extra,
    )


def _export(client, workflow_id: int, syntax: str = "yaml", version: int | None = None):
    query = f"?format={syntax}" + (f"&version={version}" if version else "")
    return client.get(f"/workflows/{workflow_id}/export{query}")


def _import(client, url: str, *, text: str | None = None, file: bytes | None = None, **fields):
    data = {"text": text or ""} | fields
    if file is not None:
        data["file"] = (io.BytesIO(file), "workflow.yaml")
    return client.submit(url, data, content_type="multipart/form-data")


def _definition(db, workflow_id: int, number: int | None = None) -> dict:
    db.session.expire_all()
    workflow = db.session.get(Workflow, workflow_id)
    return db.session.scalars(
        sa.select(WorkflowVersion.definition).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.number == (number or workflow.latest_version),
        )
    ).one()


# ---------------------------------------------------------------- export


def test_an_export_is_a_download_naming_users_by_email_and_groups_by_name(as_role, users, db):
    workflow = _rich_workflow(users)

    response = _export(as_role("admin"), workflow.id)

    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="review-on-submit-v1.yaml"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith("# A Steward workflow (format 1)")
    document = yaml.safe_load(text)
    assert document["steward_workflow"] == 1
    assert (document["name"], document["exported_from"]["version"]) == ("Review on submit", 1)
    first, second = (stage["steps"] for stage in document["definition"]["stages"])
    assert first[0]["config"]["users"] == ["approver@example.test"]
    assert first[0]["config"]["groups"] == ["Legal"]
    assert first[0]["config"]["escalate_user_id"] == "admin@example.test"
    assert first[1]["config"]["assignee"] == "owner@example.test"
    assert first[2]["config"]["assignee_group_id"] == "Legal"
    assert second[0]["config"]["user_id"] == "owner@example.test"


def test_a_chosen_version_exports_as_json(as_role, users, db):
    workflow = _rich_workflow(users)
    definition = _definition(db, workflow.id)
    definition["conditions"] = []
    workflows.save_workflow(
        workflow.id, name=workflow.name, description="", definition=definition, actor=users["admin"]
    )

    response = _export(as_role("admin"), workflow.id, "json", version=1)

    assert response.mimetype == "application/json"
    assert 'filename="review-on-submit-v1.json"' in response.headers["Content-Disposition"]
    assert response.json["definition"]["conditions"][0]["value"] == "Security"
    assert _export(as_role("admin"), workflow.id, "json", version=7).status_code == 404
    assert _export(as_role("admin"), workflow.id, "xml").status_code == 400


def test_secret_values_are_never_exported_and_the_file_says_where_they_were(
    slack, as_role, users, db
):
    workflow = _rich_workflow(
        users,
        more_steps=[step("slack", "slack_message", {"webhook_url": SLACK_URL, "text": "Hi"})],
    )

    for syntax in ("yaml", "json"):
        text = _export(as_role("admin"), workflow.id, syntax).get_data(as_text=True)

        assert "very-secret-token" not in text
        assert "Secret values are never exported" in text or syntax == "json"
        document = yaml.safe_load(text)  # JSON is YAML too
        assert document["secrets_left_out"] == ["stages.1.steps.2.config.webhook_url"]
        assert "webhook_url" not in document["definition"]["stages"][1]["steps"][2]["config"]


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("syntax", ["yaml", "json"])
def test_an_exported_workflow_imports_as_a_new_draft_with_an_equal_definition(
    as_role, users, db, syntax
):
    workflow = _rich_workflow(users)
    admin = as_role("admin")
    text = _export(admin, workflow.id, syntax).get_data(as_text=True)

    response = _import(admin, "/workflows/import", text=text, name="Review, imported")

    assert response.status_code == 303, response.get_data(as_text=True)
    copy = db.session.scalar(sa.select(Workflow).where(Workflow.name == "Review, imported"))
    assert (copy.status, copy.latest_version) == ("draft", 1)
    assert _definition(db, copy.id) == _definition(db, workflow.id)
    assert count_rows(db, AuditEvent, AuditEvent.action == "workflow.imported") == 1


def test_an_uploaded_file_imports_as_a_new_version_keeping_the_secrets(slack, as_role, users, db):
    workflow = _rich_workflow(
        users,
        more_steps=[step("slack", "slack_message", {"webhook_url": SLACK_URL, "text": "Hi"})],
    )
    admin = as_role("admin")
    document = yaml.safe_load(_export(admin, workflow.id).get_data(as_text=True))
    document["definition"]["stages"][0]["steps"][0]["config"]["groups"] = ["Legal", "Security"]
    raw = workflow_file.dump(document, "yaml").encode()

    response = _import(admin, f"/workflows/{workflow.id}/import", file=raw)

    assert response.status_code == 303, response.get_data(as_text=True)
    new = _definition(db, workflow.id)
    assert db.session.get(Workflow, workflow.id).latest_version == 2
    security = db.session.scalar(sa.select(Group.id).where(Group.name == "Security"))
    assert security in new["stages"][0]["steps"][0]["config"]["groups"]
    assert new["stages"][1]["steps"][2]["config"]["webhook_url"] == SLACK_URL
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "workflow.imported")
    ).one()
    assert event.summary == "Imported “Review on submit” version 2 from a YAML file"


# ---------------------------------------------------------------- refusals


def _page(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"steward_workflow: 1\nname: [unclosed", "neither valid YAML nor JSON"),
        (b'{"steward_workflow": 1, "name": }', "not valid JSON: Expecting value (line 1"),
        ("name: café".encode("latin-1"), "not UTF-8 text (byte 10"),
        (b"- just\n- a list\n", "holds a list, not a workflow"),
        (b"name: Something\ndefinition: {}\n", "no “steward_workflow: 1” line"),
        (b"steward_workflow: 2\nname: x\ndefinition: {}\n", "format steward_workflow: 2, newer"),
        (b"steward_workflow: 1\nname: x\ncolour: red\ndefinition: {}\n", "colour"),
        (b"steward_workflow: 1\nname: x\n", "has no definition"),
        (b"steward_workflow: 1\nname: x\ndefinition: {}\nwhen: 2024-01-02\n", "as a date"),
        (b"a: &a [1]\nb: *a\nsteward_workflow: 1\n", "anchors and aliases"),
        (b"   \n", "The file is empty"),
    ],
)
def test_a_file_that_is_not_a_workflow_file_is_refused_with_a_clear_message(
    as_role, users, db, raw, message
):
    response = _import(as_role("admin"), "/workflows/import", file=raw)

    assert response.status_code == 200
    page = _page(response)
    assert message in page.replace("&#34;", '"').replace("&#39;", "'"), page
    assert count_rows(db, Workflow) == 0


def test_a_file_over_256_kb_is_refused(as_role, users, db):
    raw = b"steward_workflow: 1\nname: big\n" + b"#" * (256 * 1024)

    response = _import(as_role("admin"), "/workflows/import", file=raw)

    assert "larger than 256 KB, the most a workflow file may be" in _page(response)
    assert count_rows(db, Workflow) == 0


def test_every_problem_of_the_definition_is_listed_with_its_path_and_nothing_is_saved(
    as_role, users, db
):
    text = """steward_workflow: 1
name: Broken
definition:
  trigger: {type: policy.status_changed, to_status: nowhere}
  stages:
  - steps:
    - key: legal
      type: approval
      config: {groups: [Auditors], users: [nobody@example.test]}
    - key: Bad Key
      type: set_status
      config: {status: approved}
"""
    response = _import(as_role("admin"), "/workflows/import", text=text)

    page = _page(response)
    assert "problems; nothing was saved" in page
    problems = dict(re.findall(r"<li><code>([\w.]+)</code>[^:]*: ([^<]+)</li>", page))
    assert problems["definition.trigger.to_status"].startswith("Unknown status")
    assert "no group “Auditors” here" in problems["definition.stages.0.steps.0.config.groups"]
    assert "nobody@example.test" in problems["definition.stages.0.steps.0.config.users"]
    assert problems["definition.stages.0.steps.1.key"].startswith("A step key is lower-case")
    assert "(stage 1, step 1 (legal))" in page
    assert count_rows(db, Workflow) == 0
    assert count_rows(db, AuditEvent, AuditEvent.action.like("workflow.%")) == 0


def test_a_definition_of_the_wrong_shape_is_listed_with_paths(as_role, users, db):
    text = json.dumps(
        {
            "steward_workflow": 1,
            "name": "Shapeless",
            "definition": {"trigger": "manual", "stages": [{"steps": ["not a step"]}]},
        }
    )
    page = _page(_import(as_role("admin"), "/workflows/import", text=text))

    assert "<code>definition.trigger</code>" in page and "Expected a mapping" in page
    assert "<code>definition.stages.0.steps.0</code>" in page
    assert count_rows(db, Workflow) == 0


def test_a_taken_name_is_shown_at_the_name_field(as_role, users, db):
    workflow = _rich_workflow(users)
    admin = as_role("admin")
    text = _export(admin, workflow.id).get_data(as_text=True)

    page = _page(_import(admin, "/workflows/import", text=text))

    assert "A workflow with this name already exists." in page
    assert count_rows(db, Workflow) == 1


def test_an_import_without_a_file_or_text_or_with_both_says_so(as_role, users, db):
    admin = as_role("admin")

    assert "Choose a workflow file, or paste its text." in _page(
        _import(admin, "/workflows/import")
    )
    both = _import(admin, "/workflows/import", text="steward_workflow: 1", file=b"x: 1")
    assert "not both" in _page(both)


def test_an_import_without_the_csrf_token_is_refused(as_role, users, db):
    response = as_role("admin").post("/workflows/import", data={"text": "steward_workflow: 1"})

    assert response.status_code == 400
    assert count_rows(db, Workflow) == 0


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_reach_export_import_compare_and_the_gallery(as_role, users, db, role):
    workflow = _rich_workflow(users)
    client = as_role(role)
    for url in (
        f"/workflows/{workflow.id}/export",
        "/workflows/import",
        f"/workflows/{workflow.id}/import",
        f"/workflows/{workflow.id}/compare",
        "/workflows/gallery",
        "/workflows/gallery/review-on-submit",
    ):
        assert client.get(url).status_code == 403, url
    token = client.csrf_token("/account")
    posted = client.post(
        "/workflows/import",
        data={"csrf_token": token, "text": "x"},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 403
    assert (
        client.post("/workflows/gallery/review-on-submit", data={"csrf_token": token}).status_code
        == 403
    )


# ---------------------------------------------------------------- compare


def test_the_comparison_of_two_versions_reads_in_words_and_side_by_side(as_role, users, db):
    workflow = _rich_workflow(users)
    definition = _definition(db, workflow.id)
    security = db.session.scalar(sa.select(Group.id).where(Group.name == "Security"))
    definition["stages"][0]["steps"][0]["config"]["groups"].append(security)
    definition["stages"].append({"steps": [step("publish", "set_status", {"status": "published"})]})
    workflows.save_workflow(
        workflow.id, name=workflow.name, description="", definition=definition, actor=users["admin"]
    )
    admin = as_role("admin")

    page = _page(admin.get(f"/workflows/{workflow.id}/compare?from=1&to=2"))

    assert "Step legal: approver groups changed from Legal to Legal, Security." in page
    assert "Stage 3 added with step publish." in page
    assert 'id="definition-diff"' in page and "diff-insert" in page
    show = _page(admin.get(f"/workflows/{workflow.id}"))
    assert f"/workflows/{workflow.id}/compare?from=1&amp;to=2" in show
    assert 'id="compare-form"' in show
    same = _page(admin.get(f"/workflows/{workflow.id}/compare?from=2&to=2"))
    assert "Choose two different versions" in same
    assert admin.get(f"/workflows/{workflow.id}/compare?from=1&to=9").status_code == 404
    assert admin.get(f"/workflows/{workflow.id}/compare?from=x").status_code == 400


# ---------------------------------------------------------------- gallery


@pytest.fixture
def every_group(db):
    """The groups the gallery's templates name, beside the users fixture's Legal and Security."""
    return [factories.make_group(name) for name in ("Compliance", "Procurement")]


@pytest.mark.parametrize("slug", gallery.SLUGS)
def test_every_gallery_template_imports_and_passes_the_validator(users, every_group, db, slug):
    template = gallery.get_template(slug)
    assert template.title and template.document.description

    workflow_id = gallery.use_template(slug, actor=users["admin"], name="", chosen_groups={})

    workflow = db.session.get(Workflow, workflow_id)
    assert (workflow.name, workflow.status) == (template.title, "draft")


def test_the_gallery_lists_the_templates_as_cards_linked_from_the_index(as_role, users, db):
    admin = as_role("admin")
    assert "/workflows/gallery" in _page(admin.get("/workflows"))
    assert "/workflows/gallery" in _page(admin.get("/workflows/new"))

    page = _page(admin.get("/workflows/gallery"))

    for slug in gallery.SLUGS:
        assert f'id="template-{slug}"' in page
    for title in ("Review on submit", "Annual review", "Vendor onboarding"):
        assert title in page


def test_using_a_template_creates_a_draft_with_the_chosen_groups_and_opens_it(as_role, users, db):
    admin = as_role("admin")
    form = _page(admin.get("/workflows/gallery/vendor-onboarding"))
    # Legal and Security exist, so they are preset; Procurement does not.
    legal, security = (
        db.session.scalar(sa.select(Group.id).where(Group.name == name))
        for name in ("Legal", "Security")
    )
    assert re.search(rf'<option selected value="{legal}">Legal</option>', form)
    assert "Group for “Procurement”" in form

    refused = admin.submit(
        "/workflows/gallery/vendor-onboarding",
        {"name": "Onboard Acme", "group_0": "", "group_1": str(legal), "group_2": str(security)},
    )
    assert "Choose the group the task is for." in _page(refused)
    assert count_rows(db, Workflow) == 0

    response = admin.submit(
        "/workflows/gallery/vendor-onboarding",
        {
            "name": "Onboard Acme",
            "group_0": str(legal),
            "group_1": str(legal),
            "group_2": str(security),
        },
    )

    assert response.status_code == 303
    workflow = db.session.scalar(sa.select(Workflow))
    assert response.headers["Location"].endswith(f"/workflows/{workflow.id}")
    assert (workflow.name, workflow.status) == ("Onboard Acme", "draft")
    definition = _definition(db, workflow.id)
    assert definition["stages"][0]["steps"][0]["config"]["assignee_group_id"] == legal
    assert definition["stages"][1]["steps"][0]["config"]["groups"] == [security]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "workflow.imported")
    ).one()
    assert "the gallery template “Vendor onboarding”" in event.summary


def test_a_template_used_under_a_taken_name_says_so_at_the_name(as_role, users, db):
    admin = as_role("admin")
    legal = db.session.scalar(sa.select(Group.id).where(Group.name == "Legal"))
    fields = {"name": "Review on submit", "group_0": str(legal)}
    assert admin.submit("/workflows/gallery/review-on-submit", fields).status_code == 303

    again = _page(admin.submit("/workflows/gallery/review-on-submit", fields))

    assert 'id="name-error">A workflow with this name already exists.' in again
    assert count_rows(db, Workflow) == 1


def test_an_unknown_template_is_404(as_role, users, db):
    assert as_role("admin").get("/workflows/gallery/nope").status_code == 404


# ---------------------------------------------------------------- command line


def test_the_commands_export_a_workflow_and_import_it_back(app, users, db, tmp_path):
    workflow = _rich_workflow(users)
    runner = app.test_cli_runner()

    exported = runner.invoke(args=["export-workflow", str(workflow.id), "--format", "json"])

    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["name"] == "Review on submit"
    path = tmp_path / "review.json"
    path.write_text(exported.output, encoding="utf-8")
    imported = runner.invoke(
        args=["import-workflow", str(path), "--by", "admin@example.test", "--name", "Copy"]
    )
    assert imported.exit_code == 0, imported.output
    copy = db.session.scalar(sa.select(Workflow).where(Workflow.name == "Copy"))
    assert _definition(db, copy.id) == _definition(db, workflow.id)

    broken = tmp_path / "broken.yaml"
    broken.write_text(exported.output.replace('"Legal"', '"Auditors"'), encoding="utf-8")
    refused = runner.invoke(
        args=["import-workflow", str(broken), "--by", "admin@example.test", "--name", "Other"]
    )
    assert refused.exit_code == 1
    assert "definition.stages.0.steps.0.config.groups (stage 1, step 1 (legal))" in refused.output
    assert "nothing was imported" in refused.output
    not_admin = runner.invoke(args=["import-workflow", str(path), "--by", "owner@example.test"])
    assert not_admin.exit_code == 1 and "not an admin" in not_admin.output
