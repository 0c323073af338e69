"""Flask commands: seed-demo, seed-bulk, create-user, worker, reconcile, verify-audit,
audit-checkpoint, export-workflow, import-workflow."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app

from governance.auth import service as accounts
from governance.auth.models import ROLES, User
from governance.errors import DomainError
from governance.extensions import db


def _forget_inherited_connections() -> None:
    """In a forked worker process: drop the database pool copied from the parent, unclosed.

    Those connections are the parent's (its reconciler uses them); a child that used or closed
    them would corrupt or end the parent's sessions. The child opens its own on first use.
    """
    for engine in db.engines.values():
        engine.dispose(close=False)


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", default="", help="Display name (defaults to the part before @).")
    @click.option(
        "--role",
        "roles",
        multiple=True,
        type=click.Choice(ROLES),
        default=["viewer"],
        show_default=True,
        help="Repeat for several roles.",
    )
    @click.password_option(help="Asked for when not given.")
    def create_user(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
        """Create a user, e.g. the first admin: flask create-user you@example.org --role admin"""
        try:
            accounts.create_user(
                email=email,
                name=name or email.split("@")[0],
                password=password,
                roles=roles,
                actor=None,
            )
        except DomainError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"Created {email} with roles: {', '.join(sorted(roles))}")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create the demo users, groups and policies (only once: safe to run again)."""
        # Imported here, not at the top: development data stays out of the app's import graph.
        from devdata.demo import seed

        if db.session.scalar(sa.select(User.id).limit(1)) is not None:
            click.echo("Demo data already present (the database has users); nothing to do.")
            return
        for line in seed():
            click.echo(line)

    @app.cli.command("seed-bulk")
    @click.option(
        "--policies",
        default=100_000,
        show_default=True,
        type=click.IntRange(min=1),
        help="Policies to create; every other table scales with it.",
    )
    def seed_bulk_command(policies: int) -> None:
        """Fill an empty, migrated database with a large, realistic data set (benchmarks)."""
        from devdata.bulk import seed

        scale = seed.Scale(policies)
        click.echo(
            f"Seeding {scale.policies:,} policies, {scale.executions:,} executions, "
            f"{scale.step_runs:,} step runs, {scale.approval_requests:,} approval requests "
            f"({scale.pending_requests:,} pending for {seed.APPROVER_EMAIL}), "
            f"{scale.audit_events:,} audit events, {scale.job_records:,} job records"
        )
        try:
            people = seed.seed_bulk(policies, echo=click.echo)
        except seed.AlreadySeeded as error:
            raise click.ClickException(str(error)) from error
        for line in seed.login_lines(people):
            click.echo(line)

    @app.cli.command("worker")
    @click.option("--workers", "-w", default=2, show_default=True)
    @click.option(
        "--worker-type",
        "-k",
        default="thread",
        show_default=True,
        type=click.Choice(["thread", "process", "greenlet"]),
    )
    @click.option(
        "--shutdown-timeout",
        default=25.0,
        show_default=True,
        help="Seconds running steps get to finish after SIGTERM/SIGINT.",
    )
    def worker(workers: int, worker_type: str, shutdown_timeout: float) -> None:
        """Run a Huey consumer plus the reconciler loop.

        The same as `huey_consumer governance.worker.huey -g TERM -t 25` with a reconciler
        thread beside it. SIGTERM and SIGINT are graceful: running steps may finish.
        """
        import threading

        from huey.consumer_options import ConsumerConfig

        from governance.engine.reconciler import run_in_background
        from governance.queues import heartbeat, housekeeping, recorder
        from governance.timeutil import utcnow
        from governance.worker import huey

        config = ConsumerConfig(
            workers=workers,
            worker_type=worker_type,
            periodic=True,
            graceful_signal="TERM",
            shutdown_timeout=shutdown_timeout,
        )
        config.setup_logger()
        if worker_type == "process":
            huey.on_startup("steward-own-connections")(_forget_inherited_connections)
        # Flask types the current_app proxy as the app itself, which has no _get_current_object.
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        # Registered before the workers start, so forked process workers share its id.
        consumer_id = heartbeat.register_consumer(worker_count=workers, worker_type=worker_type)
        click.echo(f"Consumer {consumer_id}: {workers} {worker_type} worker(s)")
        recorder.start_write_behind(app)
        stop = threading.Event()
        run_in_background(app, stop)
        heartbeat.run_in_background(app, stop, on_beat=housekeeping.tick)
        try:
            huey.create_consumer(**config.values).run()
        finally:
            stop.set()
            recorder.stop_write_behind()
            heartbeat.mark_stopped(utcnow())

    @app.cli.command("reconcile")
    def reconcile_command() -> None:
        """One reconciler pass: re-send lost steps, expire leases, fire due waits and schedules."""
        from governance.engine.reconciler import reconcile

        counts = reconcile()
        click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))

    @app.cli.command("verify-audit")
    @click.option(
        "--checkpoints",
        "checkpoints_file",
        type=click.File("r", encoding="utf-8"),
        help="Checkpoints kept outside the database (the audit page's download, or the log's "
        "checkpoint lines): each must be signed, stored and on the chain.",
    )
    def verify_audit_command(checkpoints_file) -> None:
        """Check the whole audit chain and its checkpoints; exit 1 naming the first problem."""
        from governance.audit import signing
        from governance.audit.verify import verify_chain

        external = []
        for number, line in enumerate(checkpoints_file or (), start=1):
            if not line.strip():
                continue
            try:
                external.append(signing.from_line(line))
            except signing.BadCheckpointLine as error:
                click.echo(f"{checkpoints_file.name}, line {number}: {error}", err=True)
                raise SystemExit(2) from None
        check = verify_chain(external=external)
        if not check.is_intact:
            click.echo(check.message, err=True)
            raise SystemExit(1)
        click.echo(check.message)
        if check.events:
            # Noted elsewhere, this hash later shows that no event up to here was rewritten.
            click.echo(f"Last hash: {check.last_hash}")
        if check.checkpoints:
            click.echo(
                f"Checkpoints: {check.checkpoints} verified, the last at position "
                f"{check.checkpoint_seq}."
            )
        else:
            click.echo("Checkpoints: none yet (flask audit-checkpoint signs one).")

    @app.cli.command("audit-checkpoint")
    def audit_checkpoint_command() -> None:
        """Sign the audit chain's head now (the consumer also does it every hour)."""
        from governance.audit import signing
        from governance.audit.checkpoint_writer import CheckpointRefused, write_checkpoint
        from governance.timeutil import utcnow

        try:
            checkpoint = write_checkpoint(utcnow())
        except CheckpointRefused as error:
            click.echo(str(error), err=True)
            raise SystemExit(1) from None
        if checkpoint is None:
            click.echo("No new audit events since the last checkpoint: nothing to sign.")
            return
        click.echo(signing.to_line(checkpoint))

    @app.cli.command("export-workflow")
    @click.argument("workflow_id", type=click.IntRange(min=1))
    @click.option(
        "--version",
        "number",
        type=click.IntRange(min=1),
        help="Default: the active one, else the latest.",
    )
    @click.option(
        "--format", "syntax", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
    )
    def export_workflow_command(workflow_id: int, number: int | None, syntax: str) -> None:
        """Print a workflow version as a file (no secret values; users by email, groups by name)."""
        from governance.workflows import exchange, workflow_file
        from governance.workflows import service as workflows

        try:
            workflow = workflows.get_workflow(workflow_id)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        versions = {version.number: version for version in workflows.list_versions(workflow.id)}
        active = workflow.active_version
        number = number or (active.number if active else workflow.latest_version)
        if number not in versions:
            raise click.ClickException(f"“{workflow.name}” has no version {number}.")
        click.echo(
            workflow_file.dump(exchange.export_document(workflow, versions[number]), syntax),
            nl=False,
        )

    @app.cli.command("import-workflow")
    @click.argument("file", type=click.File("rb"))
    @click.option("--by", "email", required=True, help="The admin the import is recorded for.")
    @click.option(
        "--into",
        "workflow_id",
        type=click.IntRange(min=1),
        help="Save it as a new version of this workflow.",
    )
    @click.option("--name", default="", help="A new workflow's name, instead of the file's.")
    def import_workflow_command(file, email: str, workflow_id: int | None, name: str) -> None:
        """Import a workflow file (YAML or JSON) as a new draft, or as a new version (--into)."""
        from governance.engine.definition import DefinitionError
        from governance.workflows import exchange, workflow_file

        actor = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
        if actor is None or not actor.is_admin:
            raise click.ClickException(f"{email} is not an admin's email.")
        raw = file.read(workflow_file.MAX_BYTES + 1)
        try:
            document = workflow_file.read_document(raw)
            saved_id = exchange.import_document(
                document,
                actor=actor,
                workflow_id=workflow_id,
                name=name,
                origin=f"{file.name} (command line)",
            )
        except DefinitionError as error:
            _echo_problems(exchange.problems(error.errors, _definition_or_none(raw)))
            raise click.ClickException(
                f"{len(error.errors)} problem(s); nothing was imported."
            ) from error
        except DomainError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"Imported as workflow {saved_id}.")


def _definition_or_none(raw: bytes):
    """The file's definition for naming the steps in problems (None if it does not read)."""
    from governance.workflows import workflow_file

    try:
        return workflow_file.read_document(raw).definition
    except DomainError:
        return None


def _echo_problems(problems) -> None:
    for problem in problems:
        where = f" ({problem.where})" if problem.where else ""
        click.echo(f"{problem.path}{where}: {problem.message}", err=True)
