"""Workflows in and out (admin only, on the workflows blueprint): export a version as YAML or
JSON, import a file as a new workflow or a new version, compare two versions, and start from a
gallery template."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from governance.auth import service as accounts
from governance.auth.access import require_role
from governance.engine.definition import DefinitionError, trigger_summary
from governance.engine.steps import step_types
from governance.errors import DomainError
from governance.policies.diffing import changed_count, side_by_side
from governance.web.forms import show_domain_error
from governance.web.params import arg_int
from governance.workflows import exchange, gallery, version_diff, workflow_file
from governance.workflows import service as workflows
from governance.workflows.exchange_forms import ImportForm, template_form
from governance.workflows.views import bp


def _versions_by_number(workflow_id: int) -> dict[int, Any]:
    return {version.number: version for version in workflows.list_versions(workflow_id)}


@bp.route("/workflows/<int:workflow_id>/export")
@require_role("admin")
def export(workflow_id: int):
    """A download of one version (default: the active one, else the latest)."""
    workflow = workflows.get_workflow(workflow_id)
    syntax = request.args.get("format", "yaml")
    if syntax not in workflow_file.FORMATS:
        abort(400, "The format is yaml or json.")
    versions = _versions_by_number(workflow.id)
    shown = workflow.active_version.number if workflow.active_version else workflow.latest_version
    number = arg_int("version", shown)
    if number not in versions:
        abort(404, f"This workflow has no version {number}.")
    document = exchange.export_document(workflow, versions[number])
    name = workflow_file.filename(workflow.name, number, syntax)
    return Response(
        workflow_file.dump(document, syntax),
        mimetype=workflow_file.FORMATS[syntax],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _sent_text(form: ImportForm) -> bytes | str:
    """The uploaded file's bytes (one byte over the limit at most) or the pasted text."""
    upload = form.file.data
    has_file = bool(getattr(upload, "filename", None))
    pasted = form.text.data or ""
    if has_file and pasted.strip():
        raise workflow_file.ImportRefused("Choose a file or paste its text, not both.")
    if has_file:
        return upload.stream.read(workflow_file.MAX_BYTES + 1)
    if pasted.strip():
        return pasted
    raise workflow_file.ImportRefused("Choose a workflow file, or paste its text.")


def _problems_on(form, error: DefinitionError, definition: Any) -> list[exchange.Problem]:
    """The validator's problems for the page's list (its heading counts them); one about the
    name goes under the name field instead."""
    found = exchange.problems(error.errors, definition)
    for problem in found:
        if problem.path == "name":
            form.name.errors = [*form.name.errors, problem.message]
    return [problem for problem in found if problem.path != "name"]


def _import(workflow_id: int | None):
    workflow = workflows.get_workflow(workflow_id) if workflow_id is not None else None
    form = ImportForm()
    found: list[exchange.Problem] = []
    if form.validate_on_submit():
        document = None
        try:
            document = workflow_file.read_document(_sent_text(form))
            saved_id = exchange.import_document(
                document, actor=current_user, workflow_id=workflow_id, name=form.name.data or ""
            )
        except DefinitionError as error:
            found = _problems_on(form, error, document.definition if document else None)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            saved = workflows.get_workflow(saved_id)
            flash(
                f"Imported version {saved.latest_version} of “{saved.name}”"
                + (" as a draft" if saved.status == "draft" else "")
                + ": check it, then activate it to use it.",
                "success",
            )
            return redirect(url_for("workflows.show", workflow_id=saved_id)), 303
    return render_template(
        "workflows/import.html",
        form=form,
        workflow=workflow,
        problems=found,
        max_kb=workflow_file.MAX_BYTES // 1024,
    )


@bp.route("/workflows/import", methods=["GET", "POST"])
@require_role("admin")
def import_workflow():
    return _import(None)


@bp.route("/workflows/<int:workflow_id>/import", methods=["GET", "POST"])
@require_role("admin")
def import_version(workflow_id: int):
    return _import(workflow_id)


def _labels() -> version_diff.Labels:
    registered = step_types()
    return version_diff.Labels(
        trigger=trigger_summary,
        step_types={name: kind.label for name, kind in registered.items()},
        fields={
            (name, field.name): field.label.removesuffix(" (template)")
            for name, kind in registered.items()
            for field in kind.fields
        },
    )


@bp.route("/workflows/<int:workflow_id>/compare")
@require_role("admin")
def compare(workflow_id: int):
    """Two versions (GET ?from=&to=, default: the latest and the one before): the changes in
    words, and the two definitions side by side."""
    workflow = workflows.get_workflow(workflow_id)
    versions = _versions_by_number(workflow.id)
    newest = max(versions)
    old_number, new_number = arg_int("from", max(1, newest - 1)), arg_int("to", newest)
    if old_number > new_number:
        old_number, new_number = new_number, old_number
    if old_number not in versions or new_number not in versions:
        abort(404, "This workflow has no such version.")
    old, new = (
        exchange.portable_definition(versions[number].definition)
        for number in (old_number, new_number)
    )
    rows = side_by_side(workflow_file.dump_definition(old), workflow_file.dump_definition(new))
    return render_template(
        "workflows/compare.html",
        workflow=workflow,
        versions=sorted(versions.values(), key=lambda version: -version.number),
        old=versions[old_number],
        new=versions[new_number],
        changes=version_diff.describe_changes(old, new, _labels()),
        rows=rows,
        changed=changed_count(rows),
    )


@bp.route("/workflows/gallery")
@require_role("admin")
def gallery_index():
    return render_template(
        "workflows/gallery.html", templates=gallery.list_templates(), summary=trigger_summary
    )


@bp.route("/workflows/gallery/<slug>", methods=["GET", "POST"])
@require_role("admin")
def gallery_template(slug: str):
    """One template: what it does, a name and a group for each group it names; "Use this
    template" creates a draft from it and opens it."""
    template = gallery.get_template(slug[:60])
    form = template_form(template.title, template.groups, accounts.list_groups())
    found: list[exchange.Problem] = []
    if form.validate_on_submit():
        try:
            saved_id = gallery.use_template(
                template.slug,
                actor=current_user,
                name=form.name.data or "",
                chosen_groups=form.chosen_groups(),
            )
        except DefinitionError as error:
            found = _problems_on(form, error, template.document.definition)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(
                f"Created the draft “{workflows.get_workflow(saved_id).name}” from the template. "
                "Check it, change what you need, then activate it.",
                "success",
            )
            return redirect(url_for("workflows.show", workflow_id=saved_id)), 303
    return render_template(
        "workflows/gallery_template.html",
        template=template,
        form=form,
        problems=found,
        trigger_text=trigger_summary(template.document.definition["trigger"]),
        step_labels={name: kind.label for name, kind in step_types().items()},
    )
