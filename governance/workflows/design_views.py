"""The diagram designer (admin only): the latest version's diagram with one step's form beside
it; saving the step, or a move or removal from the diagram, stores a new version.

With htmx a step opens in the side panel and a save redraws the diagram in place (an
out-of-band swap); without JavaScript every link and button is a page of its own.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from governance.auth.access import require_role
from governance.engine.definition import DefinitionError, step_descriptions
from governance.errors import DomainError
from governance.web.htmx import is_htmx
from governance.workflows import design, editor
from governance.workflows import service as workflows
from governance.workflows.diagram import layout
from governance.workflows.forms import DiagramOpForm, StepPanelForm
from governance.workflows.step_form import multi_value_fields, step_fields_context

bp = Blueprint("design", __name__)


def _diagram_context(workflow, definition: dict[str, Any], selected: str = "") -> dict[str, Any]:
    return {
        "workflow": workflow,
        "definition": definition,
        "diagram": layout(definition, with_add_slots=True),
        "step_descriptions": step_descriptions(definition),
        "selected": selected,
    }


def _panel_context(
    workflow,
    definition: dict[str, Any],
    step: dict[str, Any] | None,
    where: tuple[int, int] | None,
    *,
    is_new: bool = False,
    new_stage: bool = False,
    form: StepPanelForm | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    saved_key: str = "",
) -> dict[str, Any]:
    """The step panel for `step` at `where` (stage, position) of `definition`; no step: the
    panel that says to choose one. `saved_key`: the step's key in the latest version, when
    the form holds another one not saved yet (its address stays the saved one's)."""
    errors = errors or {}
    stage, position = where or (0, 0)
    others = [
        (path, text, design.field_id(path)) for path, text in errors.items() if path != "name"
    ]
    prefix = f"stage-{stage}-step-{position}-"
    return {
        "workflow": workflow,
        "step": step,
        "stage_index": stage,
        "position": position,
        "is_new": is_new,
        "new_stage": new_stage,
        "panel_form": form or StepPanelForm(formdata=None),
        "errors": errors,
        "error_list": [
            (text, field if field and field.startswith(prefix) else None, path)
            for path, text, field in others
        ],
        "message": message,
        # Not after a type is chosen: the person goes on to the type's fields from there.
        "focus_panel": step is not None and request.form.get("op") != "refresh",
        "action": (
            url_for("design.new_step", workflow_id=workflow.id, number=stage + 1)
            if is_new
            else url_for("design.step", workflow_id=workflow.id, key=saved_key or step["key"])
        )
        if step
        else "",
        **step_fields_context(definition),
    }


def _latest(workflow_id: int):
    workflow = workflows.get_workflow(workflow_id)
    return workflow, copy.deepcopy(workflows.latest_version(workflow).definition)


def _answer(workflow, definition, panel: dict[str, Any], status: int = 200, selected: str = ""):
    """The designer page with this panel, or for htmx the panel and, out of band, the diagram."""
    context = _diagram_context(workflow, definition, selected) | panel
    template = "workflows/_step_panel_answer.html" if is_htmx() else "workflows/designer.html"
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


@bp.route("/workflows/<int:workflow_id>/design")
@require_role("admin")
def show(workflow_id: int):
    workflow, definition = _latest(workflow_id)
    return _answer(workflow, definition, _panel_context(workflow, definition, None, None))


@bp.route("/workflows/<int:workflow_id>/design/steps/<key>", methods=["GET", "POST"])
@require_role("admin")
def step(workflow_id: int, key: str):
    workflow, definition = _latest(workflow_id)
    where = design.find_step(definition, key)
    if where is None:
        abort(404)
    if request.method == "GET":
        stage, position = where
        current = definition["stages"][stage]["steps"][position]
        panel = _panel_context(workflow, definition, current, where)
        return _answer(workflow, definition, panel, selected=key)
    return _save_step(workflow, definition, where, is_new=False)


@bp.route(
    "/workflows/<int:workflow_id>/design/stages/<int:number>/new-step", methods=["GET", "POST"]
)
@require_role("admin")
def new_step(workflow_id: int, number: int):
    """A step to add at the end of stage `number` (from 1); the one after the last stage is a
    new stage."""
    workflow, definition = _latest(workflow_id)
    stages = definition["stages"]
    if number > len(stages) + 1:
        abort(404)
    stage = number - 1
    new_stage = stage == len(stages)
    where = (stage, 0 if new_stage else len(stages[stage]["steps"]))
    if request.method == "GET":
        fresh = editor.empty_step(editor.next_key(definition))
        panel = _panel_context(workflow, definition, fresh, where, is_new=True, new_stage=new_stage)
        return _answer(workflow, definition, panel)
    return _save_step(workflow, definition, where, is_new=True, new_stage=new_stage)


def _save_step(
    workflow,
    definition: dict[str, Any],
    where: tuple[int, int],
    *,
    is_new: bool,
    new_stage: bool = False,
):
    form = StepPanelForm()
    posted = design.parse_step(request.form, multi_value_fields)
    if not form.validate() or posted is None:
        abort(400)  # no CSRF token, no version or no step: not the panel's own form
    selected = "" if is_new else definition["stages"][where[0]]["steps"][where[1]]["key"]
    draft = copy.deepcopy(definition)
    design.put_step(draft, posted, where[0], None if is_new else where[1])

    def again(status: int = 200, **extra):
        """The panel again with what was posted, nothing saved; the diagram as it is."""
        panel = _panel_context(
            workflow,
            draft,
            posted,
            where,
            is_new=is_new,
            new_stage=new_stage,
            form=form,
            saved_key=selected,
            **extra,
        )
        return _answer(workflow, definition, panel, status, selected=selected)

    # A type was chosen, or a template field's Preview button (without JavaScript): the
    # panel again, nothing saved.
    if request.form.get("op") in ("refresh", "preview"):
        return again()
    try:
        number = workflows.save_definition(
            workflow.id, draft, actor=current_user, expected_version=form.version.data or 0
        )
    except DefinitionError as error:
        form.form_errors.append(error.message)
        return again(errors=error.errors)
    except DomainError as error:  # someone saved a newer version meanwhile
        form.form_errors.append(error.message)
        return again(error.status_code)
    message = f"Saved version {number}: step {posted['key']}."
    target = url_for("design.step", workflow_id=workflow.id, key=posted["key"])
    if not is_htmx():
        flash(message, "success")
        return redirect(target, 303)
    workflow, saved = _latest(workflow.id)
    panel = _panel_context(
        workflow, saved, posted, design.find_step(saved, posted["key"]), message=message
    )
    response = _answer(workflow, saved, panel, selected=posted["key"])
    # The address bar follows: a renamed or new step has an address of its own now.
    response.headers["HX-Replace-Url"] = target
    return response


@bp.route("/workflows/<int:workflow_id>/design/change", methods=["POST"])
@require_role("admin")
def change(workflow_id: int):
    """A move or a removal from the diagram, saved as a new version once validated."""
    workflow, definition = _latest(workflow_id)
    form = DiagramOpForm()
    if not form.validate():
        abort(400)
    op = form.op.data or ""
    words = design.describe_op(definition, op)
    if words is None:
        abort(400)  # an op the diagram never sends, or a stage or step that is not there
    draft = design.apply_op(copy.deepcopy(definition), op)
    try:
        number = workflows.save_definition(
            workflow.id, draft, actor=current_user, expected_version=form.version.data or 0
        )
    except DomainError as error:
        # The validator's words for what the change would break (the last step removed, a
        # step moved before the one it reads), or a newer version saved meanwhile.
        reasons = list(error.errors.values()) if isinstance(error, DefinitionError) else []
        problem = " ".join(["Nothing was saved:", *reasons] if reasons else [error.message])
        if not is_htmx():
            flash(problem, "error")
            return redirect(url_for("design.show", workflow_id=workflow.id), 303)
        context = _diagram_context(workflow, definition) | {"problem": problem}
        status = 200 if reasons else error.status_code
        return make_response(render_template("workflows/_design_diagram.html", **context), status)
    message = f"Saved version {number}: {words}."
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("design.show", workflow_id=workflow.id), 303)
    workflow, saved = _latest(workflow.id)
    context = _diagram_context(workflow, saved) | {"diagram_message": message}
    removed = op.startswith("remove_")
    if removed:  # the panel may hold what was removed: back to "choose a step"
        context |= _panel_context(workflow, saved, None, None) | {"reset_panel": True}
    response = make_response(render_template("workflows/_design_diagram.html", **context))
    if removed:
        response.headers["HX-Replace-Url"] = url_for("design.show", workflow_id=workflow.id)
    return response
