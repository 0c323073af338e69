"""The webhook migration on a database with workflows from before it: existing inbound webhook
callers keep working (legacy switch on), outbound steps keep the secret they signed with."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from governance.engine.models import Workflow
from governance.webhooks.signing import inbound_signature, standard_form
from tests.database import loggers_left_alone
from tests.factories import signed_hook_headers

BEFORE = "c4e8a1f2d3b5"
STEP_SECRET = "whsec_" + "QUJD" * 10 + "QUI="
OLD_INBOUND = "pre-standard-webhooks-inbound-secret"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

workflows = sa.table(
    "workflows",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("status", sa.String),
    sa.column("trigger_type", sa.String),
    sa.column("active_version_id", sa.Integer),
    sa.column("latest_version", sa.Integer),
    sa.column("webhook_secret", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
versions = sa.table(
    "workflow_versions",
    sa.column("id", sa.Integer),
    sa.column("workflow_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("definition", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _definition(trigger: str, *steps: dict) -> dict:
    return {"trigger": {"type": trigger}, "conditions": [], "stages": [{"steps": list(steps)}]}


TASK = {"key": "todo", "type": "create_task", "config": {"title": "From outside"}}
HOOK = {"key": "hook", "type": "webhook", "config": {"url": "http://x/", "secret": STEP_SECRET}}
OLD_WORKFLOWS = {
    # id: (trigger type now, status, {version number: definition})
    1: ("webhook", "active", {1: _definition("webhook", TASK)}),
    2: (
        "policy.created",
        "active",
        {1: _definition("webhook", TASK), 2: _definition("policy.created", HOOK)},
    ),
    3: ("manual", "draft", {1: _definition("manual", TASK)}),
}


def _downgrade_insert_upgrade(db) -> dict[int, int]:
    """The OLD_WORKFLOWS written at the revision before, then migrated: {key: workflow id}."""
    from flask_migrate import downgrade, upgrade

    ids = {}
    db.session.remove()
    with loggers_left_alone():
        downgrade(revision=BEFORE)
        try:
            with db.engine.begin() as connection:
                for key, (trigger, status, definitions) in OLD_WORKFLOWS.items():
                    ids[key] = workflow_id = connection.execute(
                        sa.insert(workflows)
                        .values(
                            name=f"Old {key}",
                            description="",
                            status=status,
                            trigger_type=trigger,
                            latest_version=max(definitions),
                            webhook_secret=OLD_INBOUND,
                            created_at=NOW,
                            updated_at=NOW,
                        )
                        .returning(workflows.c.id)
                    ).scalar_one()
                    for number, definition in definitions.items():
                        version_id = connection.execute(
                            sa.insert(versions)
                            .values(
                                workflow_id=workflow_id,
                                number=number,
                                definition=definition,
                                created_at=NOW,
                            )
                            .returning(versions.c.id)
                        ).scalar_one()
                    connection.execute(
                        sa.update(workflows)
                        .where(workflows.c.id == workflow_id)
                        .values(active_version_id=version_id)
                    )
        finally:
            upgrade()
            db.session.remove()
    return ids


def test_existing_workflows_keep_their_callers_and_receivers_working(db, client):
    ids = _downgrade_insert_upgrade(db)

    rows = {key: db.session.get(Workflow, ids[key]) for key in ids}
    # Inbound webhook workflows, now or in an earlier version, keep accepting the old header.
    assert {i: rows[i].webhook_legacy_signature for i in rows} == {1: True, 2: True, 3: False}
    # The outbound secret is the one the webhook step signed with; elsewhere a new one.
    assert rows[2].signing_secret == STEP_SECRET
    assert rows[1].signing_secret.startswith("whsec_")
    assert len({row.signing_secret for row in rows.values()}) == 3
    assert all(row.previous_signing_secret is None for row in rows.values())

    body = b'{"reason": "an old caller"}'
    legacy = {"X-Steward-Signature": inbound_signature(OLD_INBOUND, body)}
    assert client.post(f"/hooks/{ids[1]}", data=body, headers=legacy).status_code == 202
    # The same secret, in its whsec_ form, signs Standard Webhooks calls.
    standard = signed_hook_headers(standard_form(OLD_INBOUND), body)
    assert client.post(f"/hooks/{ids[1]}", data=body, headers=standard).status_code == 202


def test_the_migration_downgrades_and_upgrades_again_cleanly(db):
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    with loggers_left_alone():
        downgrade(revision=BEFORE)
        try:
            columns = {c["name"] for c in sa.inspect(db.engine).get_columns("workflows")}
            assert "signing_secret" not in columns
            assert "webhook_legacy_signature" not in columns
            assert not sa.inspect(db.engine).has_table("inbound_webhook_messages")
        finally:
            upgrade()
            db.session.remove()
    assert sa.inspect(db.engine).has_table("inbound_webhook_messages")
