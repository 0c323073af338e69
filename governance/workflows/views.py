"""The workflow designer (admin only): list, create and edit in forms, versions, activate,
run, dry run, the diagram; and the inbound webhook trigger."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from governance.approvals import reminders
from governance.auth.access import require_role
from governance.engine import schedule
from governance.engine.condition_words import definition_words
from governance.engine.definition import DefinitionError, step_descriptions, trigger_summary
from governance.engine.dryrun import dry_run
from governance.engine.triggers import trigger_types
from governance.errors import DomainError, NotFound
from governance.extensions import csrf
from governance.links import absolute_url
from governance.parsing import parse_int
from governance.policies import service as policies
from governance.policies.lifecycle import STATUS_LABELS
from governance.web import problems
from governance.web.forms import show_domain_error
from governance.web.htmx import is_htmx, page_or_partial
from governance.webhooks.signing import inbound_signature, standard_form
from governance.webhooks.signing_secret import grace_until
from governance.workflows import (
    editor,
    inbound,
    policy_picker,
    signing_secret,
    template_preview,
)
from governance.workflows import service as workflows
from governance.workflows.diagram import layout
from governance.workflows.forms import (
    ActivateForm,
    LegacySignatureForm,
    RotateSecretForm,
    RunForm,
    TemplatePreviewForm,
    WorkflowForm,
    grace_choices,
)
from governance.workflows.step_form import multi_value_fields, step_fields_context

bp = Blueprint("workflows", __name__)
# Conditions in words name statuses as people read them ("in review", not in_review).
CONDITION_VALUE_LABELS = {
    field: STATUS_LABELS for field in ("policy.status", "trigger.old_status", "trigger.new_status")
}


@bp.route("/workflows")
@require_role("admin")
def index():
    items = workflows.list_workflows()
    return render_template(
        "workflows/index.html",
        workflows=items,
        stats=workflows.run_stats([workflow.id for workflow in items]),
        summaries={
            workflow.id: trigger_summary(
                (
                    workflows.latest_version(workflow).definition if workflow.latest_version else {}
                ).get("trigger", {})
            )
            for workflow in items
        },
    )


def _editor_context(form: WorkflowForm, draft: dict[str, Any], errors: dict[str, str], workflow):
    return {
        "form": form,
        # The version this form was read from, kept across its round trips (add a step, ...):
        # a save after someone saved a newer one is refused, not silently replacing theirs.
        "base_version": form.version.data or (workflow.latest_version if workflow else None),
        "draft": draft,
        "errors": errors,
        "workflow": workflow,
        "triggers": trigger_types(),
        "statuses": STATUS_LABELS,
        "conditions_text": definition_words(draft, CONDITION_VALUE_LABELS),
        **step_fields_context(draft),
        "cron_words": schedule.describe(draft["trigger"].get("cron", ""))
        if draft["trigger"].get("type") == "schedule" and draft["trigger"].get("cron")
        else "",
    }


def _render_editor(context: dict[str, Any], status: int = 200):
    template = "workflows/_editor.html" if is_htmx() else "workflows/editor.html"
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def _edit(workflow_id: int | None):
    workflow = workflows.get_workflow(workflow_id) if workflow_id else None
    form = WorkflowForm(obj=workflow)
    errors: dict[str, str] = {}
    if request.method == "GET":
        draft = (
            workflows.latest_version(workflow).definition if workflow else editor.empty_definition()
        )
        return _render_editor(_editor_context(form, draft, errors, workflow))
    if not form.validate():
        # CSRF or field length: answer on the form, change nothing.
        draft = editor.parse(request.form, multi_value_fields)
        return _render_editor(_editor_context(form, draft, errors, workflow), 400)
    draft = editor.parse(request.form, multi_value_fields)
    op = request.form.get("op", "save")
    if op != "save":
        editor.apply(draft, op)
        return _render_editor(_editor_context(form, draft, errors, workflow))
    try:
        saved_id = workflows.save_workflow(
            workflow_id,
            name=form.name.data or "",
            description=form.description.data or "",
            definition=draft,
            actor=current_user,
            expected_version=form.version.data if workflow_id else None,
        )
    except DefinitionError as error:
        errors = error.errors
        form.form_errors.append(error.message)
    except DomainError as error:
        errors = {error.field or "form": error.message}
        form.form_errors.append(error.message)
    else:
        saved = workflows.get_workflow(saved_id)
        flash(
            f"Saved version {saved.latest_version} of “{saved.name}”."
            + (" Activate it to use it for new executions." if saved.status != "draft" else ""),
            "success",
        )
        target = url_for("workflows.show", workflow_id=saved_id)
        if is_htmx():
            response = make_response("", 204)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    return _render_editor(_editor_context(form, draft, errors, workflow))


@bp.route("/workflows/new", methods=["GET", "POST"])
@require_role("admin")
def new():
    return _edit(None)


@bp.route("/workflows/<int:workflow_id>/edit", methods=["GET", "POST"])
@require_role("admin")
def edit(workflow_id: int):
    return _edit(workflow_id)


def _rotate_form() -> RotateSecretForm:
    configured = current_app.config["WEBHOOK_SECRET_GRACE_HOURS"]
    form = RotateSecretForm(grace_hours=configured)
    form.grace_hours.choices = grace_choices(configured)
    return form


def _pickers(run_picker: policy_picker.PolicyPicker | None = None) -> dict[str, Any]:
    """The Run and Dry run policy pickers; without JavaScript a search (?picker=run&q=...)
    comes back as this page, listing what it found."""
    searched = request.args.get("picker", "") if request.method == "GET" else ""
    text = request.args.get("q", "")

    def picker(name: str) -> policy_picker.PolicyPicker:
        return policy_picker.pick(name, current_user, text=text if searched == name else "")

    return {"run_picker": run_picker or picker("run"), "dry_picker": picker("dry")}


def _show_context(
    workflow_id: int, *, revealed=None, run_form=None, run_picker=None
) -> dict[str, Any]:
    workflow = workflows.get_workflow(workflow_id)
    versions = workflows.list_versions(workflow.id)
    shown = workflow.active_version or versions[0]
    trigger = shown.definition["trigger"]
    body = b'{"policy_id": 1, "reason": "example"}'
    return {
        "workflow": workflow,
        "version": shown,
        "versions": versions,
        "diagram": layout(shown.definition),
        "unescalated_steps": reminders.steps_without_escalation_target(shown.definition),
        "trigger_text": trigger_summary(trigger),
        "conditions_text": definition_words(shown.definition, CONDITION_VALUE_LABELS),
        "step_descriptions": step_descriptions(shown.definition),
        "cron_words": schedule.describe(trigger["cron"]) if trigger["type"] == "schedule" else "",
        "next_runs": schedule.next_runs(trigger["cron"]) if trigger["type"] == "schedule" else [],
        "webhook_url": absolute_url("workflows.inbound_webhook", workflow_id=workflow.id),
        "inbound_secret": standard_form(workflow.webhook_secret or ""),
        "example_body": body.decode(),
        "example_signature": inbound_signature(workflow.webhook_secret or "", body),
        "has_webhook_steps": workflows.has_webhook_steps(workflow),
        "signing": revealed,
        "grace_until": grace_until(workflow),
        "rotate_form": _rotate_form(),
        "legacy_form": LegacySignatureForm(),
        "executions": workflows.recent_executions(workflow.id, limit=20),
        "activate_form": ActivateForm(),
        "run_form": run_form or RunForm(),
        **_pickers(run_picker),
    }


@bp.route("/workflows/<int:workflow_id>")
@require_role("admin")
def show(workflow_id: int):
    return render_template("workflows/show.html", **_show_context(workflow_id))


def _signing_secret_answer(workflow_id: int, revealed):
    """The secret card revealed: the fragment for htmx, else the whole page. Never cached."""
    context = _show_context(workflow_id, revealed=revealed)
    response = page_or_partial("workflows/show.html", "workflows/_signing_secret.html", **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/workflows/<int:workflow_id>/signing-secret", methods=["POST"])
@require_role("admin")
def reveal_signing_secret(workflow_id: int):
    # A POST, not a GET: each reveal is written to the audit trail, so it needs the CSRF token.
    if not ActivateForm().validate_on_submit():
        abort(400)
    revealed = signing_secret.read_signing_secret(workflow_id, actor=current_user, via="web")
    return _signing_secret_answer(workflow_id, revealed)


@bp.route("/workflows/<int:workflow_id>/signing-secret/rotate", methods=["POST"])
@require_role("admin")
def rotate_signing_secret(workflow_id: int):
    form = _rotate_form()
    if not form.validate_on_submit():
        abort(400)
    try:
        rotated = signing_secret.rotate_signing_secret(
            workflow_id, actor=current_user, grace_hours=form.grace_hours.data
        )
    except NotFound:
        raise
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("workflows.show", workflow_id=workflow_id)), 303
    return _signing_secret_answer(workflow_id, rotated)


@bp.route("/workflows/<int:workflow_id>/legacy-signature", methods=["POST"])
@require_role("admin")
def legacy_signature(workflow_id: int):
    form = LegacySignatureForm()
    if not form.validate_on_submit():
        abort(400)
    enabled = form.enabled.data == "on"
    return _change_and_return(
        workflow_id,
        lambda: inbound.set_legacy_signature(workflow_id, enabled=enabled, actor=current_user),
        "X-Steward-Signature is accepted again (replayable: switch it off once callers use "
        "Standard Webhooks)."
        if enabled
        else "X-Steward-Signature is refused now; callers sign with Standard Webhooks.",
    )


def _change_and_return(workflow_id: int, change, success: str):
    """Run an operator's change (form already checked), flash the outcome, back to the page."""
    try:
        change()
    except NotFound:
        raise
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for("workflows.show", workflow_id=workflow_id)), 303


@bp.route("/workflows/<int:workflow_id>/activate", methods=["POST"])
@require_role("admin")
def activate(workflow_id: int):
    form = ActivateForm()
    if not form.validate_on_submit():
        abort(400)
    return _change_and_return(
        workflow_id,
        lambda: workflows.activate(
            workflow_id, actor=current_user, version_number=form.version.data
        ),
        "Activated: new executions use this version.",
    )


@bp.route("/workflows/<int:workflow_id>/deactivate", methods=["POST"])
@require_role("admin")
def deactivate(workflow_id: int):
    if not ActivateForm().validate_on_submit():
        abort(400)
    return _change_and_return(
        workflow_id,
        lambda: workflows.deactivate(workflow_id, actor=current_user),
        "Deactivated: no new executions start. Running ones finish.",
    )


@bp.route("/workflows/<int:workflow_id>/run", methods=["POST"])
@require_role("admin")
def run(workflow_id: int):
    form = RunForm()
    if form.validate_on_submit():
        try:
            execution_id = workflows.run_manually(
                workflow_id, policy_id=form.policy_id.data, actor=current_user
            )
        except NotFound:
            raise
        except DomainError as error:
            if error.field != "policy_id":
                flash(error.message, "error")
                return redirect(url_for("workflows.show", workflow_id=workflow_id)), 303
            show_domain_error(form, error)
        else:
            flash(f"Started execution {execution_id}.", "success")
            return redirect(url_for("workflows.show", workflow_id=workflow_id)), 303
    # The page again, the picker saying what was wrong under it (the choice kept if listed).
    picker = policy_picker.pick(
        "run", current_user, selected=form.policy_id.data, errors=form.policy_id.errors
    )
    context = _show_context(workflow_id, run_form=form, run_picker=picker)
    return render_template("workflows/show.html", **context)


@bp.route("/workflows/policy-picker")
@require_role("admin")
def policy_picker_options():
    """What a picker's search finds as the user types (htmx): the list and its summary."""
    name = request.args.get("picker", "")
    if name not in policy_picker.PICKERS:
        abort(404)
    picker = policy_picker.pick(
        name,
        current_user,
        text=request.args.get("q", ""),
        selected=request.args.get("policy_id", type=int),
    )
    return render_template("workflows/_policy_options.html", picker=picker)


@bp.route("/workflows/template-preview", methods=["POST"])
@require_role("admin")
def template_preview_view():
    """One template field of the designer's form rendered as the user types (htmx): the form
    comes whole, so the step, its trigger and the steps before it are the draft's."""
    form = TemplatePreviewForm()
    if not form.validate_on_submit():
        abort(400)
    draft = editor.parse(request.form, multi_value_fields)
    name = form.preview_field.data or ""
    policy_text = request.form.get(template_preview.POLICY_FIELD + name, "")
    preview = template_preview.preview_field(draft, name, policy_text, current_user)
    if preview is None:
        abort(400)
    return render_template("workflows/_template_preview.html", preview=preview, fid=name)


@bp.route("/workflows/<int:workflow_id>/dry-run")
@require_role("admin")
def dry_run_view(workflow_id: int):
    workflow = workflows.get_workflow(workflow_id)
    version = workflows.latest_version(workflow)
    policy_text = request.args.get("policy_id", "").strip()
    policy = None
    error = None
    if policy_text:
        try:
            policy = policies.get_policy(parse_int(policy_text))
        except ValueError as refusal:
            error = f"The policy id: {refusal}"
        except NotFound:
            error = f"There is no policy {policy_text}; choose an existing policy."
    trigger_data = template_preview.trigger_data_for(
        version.definition["trigger"], policy.status if policy else None
    )
    report = (
        None
        if error
        else dry_run(
            version.definition,
            policy.id if policy else None,
            trigger_data,
            value_labels=CONDITION_VALUE_LABELS,
        )
    )
    template = "workflows/_dry_run.html" if is_htmx() else "workflows/dry_run.html"
    return render_template(
        template, workflow=workflow, version=version, policy=policy, report=report, error=error
    )


@bp.route("/hooks/<int:workflow_id>", methods=["POST"])
@csrf.exempt  # machine-to-machine: authenticated by the HMAC signature, not a session
def inbound_webhook(workflow_id: int):
    limit = inbound.MAX_WEBHOOK_BODY
    try:
        if (request.content_length or 0) > limit:
            raise inbound.TooLarge(f"The body is larger than {limit // 1024} KB.")
        execution_id = inbound.trigger_from_webhook(
            workflow_id, request.get_data(cache=False)[: limit + 1], request.headers
        )
    except DomainError as error:
        return problems.domain_error_response(error, status=error.status_code)
    return jsonify(execution_id=execution_id), 202
