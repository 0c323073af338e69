"""The diagram designer through HTTP: one step's form beside the diagram, its save (a new
version, validated as a whole), adding a step or a stage, moves and removals from the diagram,
the version a save builds on, and admins only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from governance.engine.models import Workflow, WorkflowVersion
from tests.factories import make_workflow, step

HTMX = {"HX-Request": "true"}


@pytest.fixture
def workflow(users, db):
    """Two stages: notify and a task in stage 1, set_status in stage 2."""
    return make_workflow(
        users["admin"],
        name="Review on submit",
        trigger={"type": "policy.created"},
        stages=[
            [
                step("tell", "notify", {"to_owner": True, "subject": "New {{ policy.title }}"}),
                step("todo", "create_task", {"title": "Check", "assignee": "owner"}),
            ],
            [step("approve", "set_status", {"status": "approved"})],
        ],
    )


def _stages(db, workflow_id: int) -> list[list[str]]:
    """The step keys of the latest version, stage by stage."""
    db.session.expire_all()
    saved = db.session.get(Workflow, workflow_id)
    version = db.session.scalar(
        sa.select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.number == saved.latest_version,
        )
    )
    return [[item["key"] for item in stage["steps"]] for stage in version.definition["stages"]]


def _latest(db, workflow_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Workflow, workflow_id).latest_version


def _step_form(key: str, stage: int, position: int, version: int, **config) -> dict:
    p = f"stage-{stage}-step-{position}-"
    return {
        "version": str(version),
        f"{p}key": key,
        f"{p}type": "set_status",
        f"{p}retry-attempts": "3",
        f"{p}retry-backoff": "fixed",
        f"{p}retry-base_seconds": "5",
        **{f"{p}cfg-{name}": value for name, value in config.items()},
        "op": "save",
    }


def test_the_designer_shows_the_diagram_with_each_step_a_link_to_its_form(as_role, workflow):
    page = as_role("admin").get(f"/workflows/{workflow.id}/design").get_data(as_text=True)
    assert 'id="workflow-diagram"' in page and 'role="group"' in page
    link = f"/workflows/{workflow.id}/design/steps/todo"
    assert re.search(rf'<a href="{link}" hx-get="{link}" hx-target="#step-panel"', page)
    assert 'aria-label="Step todo, Create a task: edit"' in page
    assert "Choose a step in the diagram" in page
    assert f'href="/workflows/{workflow.id}/edit"' in page  # "Edit all at once"


def test_the_workflow_page_links_each_step_of_the_latest_version_to_the_designer(as_role, workflow):
    admin = as_role("admin")
    page = admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    link = f"/workflows/{workflow.id}/design/steps/todo"
    # A plain link (the page has no panel): the designer opens at that step.
    assert re.search(rf'<a href="{link}" class="dg-link"', page)
    assert f'<a class="button" href="/workflows/{workflow.id}/design">Edit</a>' in page
    # Once a newer version is saved, the page still shows the active one, older than the
    # latest: only a picture then, its steps may not be the latest's.
    designer = f"/workflows/{workflow.id}/design"
    admin.submit(
        f"{designer}/change", {"version": "1", "op": "move_stage_down:0"}, token_from=designer
    )
    older = admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert "Version 1 (active)" in older
    assert 'class="dg-link"' not in older and 'role="img"' in older


def test_the_step_panel_offers_the_same_fields_and_template_tools_as_the_whole_form(
    as_role, workflow
):
    """A notify step's templates get "Insert variable" and a preview in the panel too, with
    the names its stage can see (stage 2 reads stage 1's steps, never its own)."""
    admin = as_role("admin")
    panel = admin.get(f"/workflows/{workflow.id}/design/steps/tell", headers=HTMX)
    html = panel.get_data(as_text=True)
    assert panel.status_code == 200
    assert 'id="stage-0-step-0-cfg-subject-tools"' in html
    assert 'data-insert-into="stage-0-step-0-cfg-subject"' in html
    assert "<code>policy.title</code>" in html
    assert "<code>steps.todo.output</code>" not in html  # the same stage: not visible
    assert 'name="preview-policy-stage-0-step-0-cfg-subject"' in html


def test_the_step_panel_previews_without_javascript_and_saves_nothing(as_role, workflow, db):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/steps/approve"
    form = _step_form("approve", 1, 0, 1, status="approved") | {"op": "preview"}
    answer = admin.submit(url, form, token_from=url)
    assert answer.status_code == 200
    assert _latest(db, workflow.id) == 1


def test_a_step_opens_in_the_panel_for_htmx_and_as_a_page_without_it(as_role, workflow):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/steps/approve"
    fragment = admin.get(url, headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="step-panel"')
    assert 'name="stage-1-step-0-cfg-status"' in fragment
    assert '<div id="design-diagram" class="design-diagram" hx-swap-oob="true">' in fragment
    assert 'aria-current="true"' in fragment  # the chosen step, marked in the diagram
    page = admin.get(url)
    assert "HX-Request" in page.headers["Vary"]
    html = page.get_data(as_text=True)
    assert "<!doctype html>" in html and 'id="workflow-diagram"' in html
    assert 'value="approved" selected' in html
    assert admin.get(f"/workflows/{workflow.id}/design/steps/nobody").status_code == 404


def test_saving_a_step_stores_a_new_version_and_redraws_the_diagram(as_role, workflow, db):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/steps/approve"
    answer = admin.submit(url, _step_form("publish", 1, 0, 1, status="published"), headers=HTMX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "Saved version 2: step publish." in html
    assert answer.headers["HX-Replace-Url"] == f"/workflows/{workflow.id}/design/steps/publish"
    assert 'id="design-diagram" class="design-diagram" hx-swap-oob="true"' in html
    assert 'id="dg-step-publish"' in html and 'value="2"' in html
    # The panel now saves the renamed step.
    assert f'action="/workflows/{workflow.id}/design/steps/publish"' in html
    assert _stages(db, workflow.id) == [["tell", "todo"], ["publish"]]
    version = db.session.scalar(sa.select(WorkflowVersion).where(WorkflowVersion.number == 2))
    saved = version.definition["stages"][1]["steps"][0]
    assert saved["config"] == {"status": "published"}
    assert saved["retry"] == {"attempts": 3, "backoff": "fixed", "base_seconds": 5.0}
    # The other steps are as they were.
    assert (
        version.definition["stages"][0]["steps"][0]["config"]["subject"] == "New {{ policy.title }}"
    )


def test_without_javascript_a_saved_step_goes_back_to_its_page_saying_so(as_role, workflow):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/steps/approve"
    answer = admin.submit(url, _step_form("approve", 1, 0, 1, status="published"))
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(url)
    assert "Saved version 2: step approve." in admin.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"stage-1-step-0-cfg-status": "bogus"}, "stage-1-step-0-cfg-status", "Choose the status"),
        ({"stage-1-step-0-key": "Bad Key"}, "stage-1-step-0-key", "A step key is lower-case"),
        ({"stage-1-step-0-key": "tell"}, "stage-1-step-0-key", "used twice"),
        ({"stage-1-step-0-retry-attempts": "99"}, "stage-1-step-0-retry-attempts", "between 1"),
    ],
)
def test_a_bad_step_is_answered_in_the_panel_linked_to_its_field_and_nothing_is_saved(
    as_role, workflow, db, overrides, field, message
):
    url = f"/workflows/{workflow.id}/design/steps/approve"
    data = _step_form("approve", 1, 0, 1, status="published") | overrides
    answer = as_role("admin").submit(url, data, headers=HTMX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'role="alert"' in html
    assert re.search(rf'<a href="#{field}">[^<]*{message}', html)
    assert f'id="{field}-error"' in html
    control = re.search(rf'<(?:input|select)[^>]*\bid="{field}"[^>]*>', html)[0]
    assert 'aria-invalid="true"' in control and f"{field}-error" in control
    # The form still saves the step it was opened for, whatever key it holds now.
    assert f'action="/workflows/{workflow.id}/design/steps/approve"' in html
    assert _latest(db, workflow.id) == 1


def test_choosing_a_type_shows_its_fields_and_saves_nothing(as_role, workflow, db):
    url = f"/workflows/{workflow.id}/design/steps/approve"
    data = _step_form("approve", 1, 0, 1) | {"stage-1-step-0-type": "approval", "op": "refresh"}
    html = as_role("admin").submit(url, data, headers=HTMX).get_data(as_text=True)
    assert 'name="stage-1-step-0-cfg-users"' in html
    assert "data-picker" in html
    assert _latest(db, workflow.id) == 1


def test_a_save_built_on_an_older_version_is_refused_and_changes_nothing(
    as_role, workflow, users, db
):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/steps/approve"
    assert admin.submit(url, _step_form("approve", 1, 0, 1, status="published")).status_code == 303
    stale = admin.submit(url, _step_form("approve", 1, 0, 1, status="approved"), headers=HTMX)
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "is at version 2 now, not 1" in html and "Read version 2" in html
    assert 'id="design-version" name="version" value="2"' in html  # the diagram is redrawn
    assert _latest(db, workflow.id) == 2
    # Saved again on version 2: this step goes into it.
    again = admin.submit(url, _step_form("approve", 1, 0, 2, status="approved"), headers=HTMX)
    assert "Saved version 3: step approve." in again.get_data(as_text=True)


def test_adding_a_step_opens_a_new_step_form_and_saving_it_inserts_it(as_role, workflow, db):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/stages/1/new-step"
    form = admin.get(url, headers=HTMX).get_data(as_text=True)
    assert "New step in stage 1" in form
    assert 'name="stage-0-step-2-key" value="step_1"' in form
    assert 'name="stage-0-step-2-type"' in form
    # Without a type it is not valid: nothing is saved.
    untyped = admin.submit(url, {"version": "1", "stage-0-step-2-key": "step_1", "op": "save"})
    assert "Choose a step type." in untyped.get_data(as_text=True)
    assert _latest(db, workflow.id) == 1
    saved = admin.submit(url, _step_form("wrap_up", 0, 2, 1, status="approved"), headers=HTMX)
    assert "Saved version 2: step wrap_up." in saved.get_data(as_text=True)
    assert _stages(db, workflow.id) == [["tell", "todo", "wrap_up"], ["approve"]]


def test_adding_a_stage_saves_it_with_its_first_step(as_role, workflow, db):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/stages/3/new-step"
    assert "(a new stage)" in admin.get(url).get_data(as_text=True)
    answer = admin.submit(url, _step_form("archive", 2, 0, 1, status="retired"))
    assert answer.status_code == 303
    assert _stages(db, workflow.id) == [["tell", "todo"], ["approve"], ["archive"]]
    assert admin.get(f"/workflows/{workflow.id}/design/stages/9/new-step").status_code == 404


@pytest.mark.parametrize(
    ("op", "stages", "words"),
    [
        ("move_step_down:0:0", [["todo", "tell"], ["approve"]], "moved step tell down"),
        ("move_step_up:0:1", [["todo", "tell"], ["approve"]], "moved step todo up"),
        ("move_step_next_stage:0:1", [["tell"], ["approve", "todo"]], "moved step todo to stage 2"),
        (
            "move_step_prev_stage:1:0",
            [["tell", "todo", "approve"]],
            "moved step approve to stage 1",
        ),
        ("move_stage_down:0", [["approve"], ["tell", "todo"]], "moved stage 1 later"),
        ("move_stage_up:1", [["approve"], ["tell", "todo"]], "moved stage 2 earlier"),
        ("remove_step:0:0", [["todo"], ["approve"]], "removed step tell"),
        ("remove_stage:1", [["tell", "todo"]], "removed stage 2"),
    ],
)
def test_each_diagram_change_saves_a_new_version_and_redraws_the_diagram(
    as_role, workflow, db, op, stages, words
):
    admin = as_role("admin")
    url = f"/workflows/{workflow.id}/design/change"
    answer = admin.submit(
        url, {"version": "1", "op": op}, token_from=f"/workflows/{workflow.id}/design", headers=HTMX
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="design-diagram"')
    assert f"Saved version 2: {words}." in html
    assert _stages(db, workflow.id) == stages
    if op.startswith("remove_"):  # the panel is closed: it may have held what was removed
        assert '<section id="step-panel" class="step-panel card" aria-labelledby' in html
        assert 'hx-swap-oob="true"' in html
        assert answer.headers["HX-Replace-Url"] == f"/workflows/{workflow.id}/design"


def test_without_javascript_a_diagram_change_comes_back_to_the_designer(as_role, workflow, db):
    admin = as_role("admin")
    designer = f"/workflows/{workflow.id}/design"
    answer = admin.submit(
        f"{designer}/change", {"version": "1", "op": "move_stage_down:0"}, token_from=designer
    )
    assert answer.status_code == 303 and answer.headers["Location"].endswith(designer)
    assert "Saved version 2: moved stage 1 later." in admin.get(designer).get_data(as_text=True)


def test_removing_the_last_step_gives_the_validators_reason_and_saves_nothing(as_role, users, db):
    lone = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("only", "set_status", {"status": "approved"})]],
    )
    admin = as_role("admin")
    designer = f"/workflows/{lone.id}/design"
    for op, reason in (("remove_step:0:0", "Stage 1 is empty"), ("remove_stage:0", "at least one")):
        answer = admin.submit(
            f"{designer}/change", {"version": "1", "op": op}, token_from=designer, headers=HTMX
        )
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200 and 'role="alert"' in html
        assert "Nothing was saved" in html and reason in html
    assert _latest(db, lone.id) == 1


def test_a_change_moving_a_step_before_the_one_it_reads_is_refused(as_role, users, db):
    reader = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("first", "create_task", {"title": "One", "assignee": "owner"})],
            [
                step(
                    "second",
                    "create_task",
                    {"title": "{{ steps.first.status }}", "assignee": "owner"},
                )
            ],
        ],
    )
    designer = f"/workflows/{reader.id}/design"
    answer = as_role("admin").submit(
        f"{designer}/change",
        {"version": "1", "op": "move_step_prev_stage:1:0"},
        token_from=designer,
        headers=HTMX,
    )
    assert "Unknown name(s)" in answer.get_data(as_text=True)
    assert _latest(db, reader.id) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"version": "1", "op": "add_condition"},  # not a diagram change
        {"version": "1", "op": "remove_step:7:0"},  # no such stage
        {"version": "1", "op": "remove_step:0:x"},
        {"op": "remove_step:0:0"},  # no version
    ],
)
def test_a_change_the_diagram_never_sends_is_refused(as_role, workflow, db, data):
    designer = f"/workflows/{workflow.id}/design"
    answer = as_role("admin").submit(f"{designer}/change", data, token_from=designer)
    assert answer.status_code == 400
    assert _latest(db, workflow.id) == 1


def test_a_diagram_change_on_an_older_version_is_refused(as_role, workflow, db):
    admin = as_role("admin")
    designer = f"/workflows/{workflow.id}/design"
    data = {"version": "1", "op": "move_stage_down:0"}
    assert admin.submit(f"{designer}/change", data, token_from=designer).status_code == 303
    again = admin.submit(f"{designer}/change", data, token_from=designer, headers=HTMX)
    assert again.status_code == 409
    assert "is at version 2 now" in again.get_data(as_text=True)
    assert _latest(db, workflow.id) == 2


def test_posts_without_a_csrf_token_are_refused(as_role, workflow, db):
    admin = as_role("admin")
    base = f"/workflows/{workflow.id}/design"
    assert (
        admin.post(f"{base}/change", data={"version": "1", "op": "remove_step:0:0"}).status_code
        == 400
    )
    form = _step_form("approve", 1, 0, 1, status="published")
    assert admin.post(f"{base}/steps/approve", data=form).status_code == 400
    assert _latest(db, workflow.id) == 1


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_use_the_designer(as_role, workflow, db, role):
    client = as_role(role)
    base = f"/workflows/{workflow.id}/design"
    for url in (base, f"{base}/steps/approve", f"{base}/stages/1/new-step"):
        assert client.get(url).status_code == 403
        assert client.get(url, headers=HTMX).status_code == 403
    token = client.csrf_token()
    form = _step_form("approve", 1, 0, 1, status="published") | {"csrf_token": token}
    assert client.post(f"{base}/steps/approve", data=form).status_code == 403
    assert client.post(f"{base}/stages/1/new-step", data=form).status_code == 403
    change = {"version": "1", "op": "remove_step:0:0", "csrf_token": token}
    assert client.post(f"{base}/change", data=change).status_code == 403
    assert _latest(db, workflow.id) == 1


def test_the_workflow_page_and_the_whole_form_link_to_the_designer(as_role, workflow):
    admin = as_role("admin")
    designer = f'href="/workflows/{workflow.id}/design"'
    assert designer in admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert designer in admin.get(f"/workflows/{workflow.id}/edit").get_data(as_text=True)


def test_the_whole_form_refuses_a_save_built_on_an_older_version(as_role, workflow, db):
    admin = as_role("admin")
    edit = f"/workflows/{workflow.id}/edit"
    assert 'name="version" value="1"' in admin.get(edit).get_data(as_text=True)
    step_url = f"/workflows/{workflow.id}/design/steps/approve"
    assert (
        admin.submit(step_url, _step_form("approve", 1, 0, 1, status="published")).status_code
        == 303
    )
    whole = {
        "name": "Review on submit",
        "version": "1",
        "trigger-type": "policy.created",
        "stage-0-present": "1",
        "stage-0-step-0-key": "approve",
        "stage-0-step-0-type": "set_status",
        "stage-0-step-0-cfg-status": "approved",
        "op": "save",
    }
    # A round trip (add a stage) keeps the version the form was read from.
    kept = admin.submit(edit, whole | {"op": "add_stage"}).get_data(as_text=True)
    assert 'name="version" value="1"' in kept
    refused = admin.submit(edit, whole).get_data(as_text=True)
    assert "is at version 2 now, not 1" in refused
    assert _latest(db, workflow.id) == 2
