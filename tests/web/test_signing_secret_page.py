"""The workflow page's outbound signing secret: masked, revealed (audited) and rotated by
admins only, with the verification snippet."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.factories import signing_secret_audit_actions, signing_secrets

HTMX = {"HX-Request": "true"}


@pytest.fixture
def workflow(app, users):
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    try:
        yield factories.make_workflow(
            users["admin"],
            trigger={"type": "policy.created"},
            stages=[[factories.step("hook", "webhook", {"url": "http://127.0.0.1:9/hook"})]],
        )
    finally:
        app.config["WEBHOOK_ALLOWLIST"] = []


def test_the_page_shows_the_secret_masked_with_reveal_rotate_and_the_snippet(as_role, db, workflow):
    html = as_role("admin").get(f"/workflows/{workflow.id}").get_data(as_text=True)

    assert 'id="signing-secret"' in html
    assert workflow.signing_secret not in html
    assert "whsec_••••" in html
    assert ">Reveal</button>" in html and ">Rotate secret</button>" in html
    assert 'hx-confirm="Rotate the signing secret?' in html
    assert 'Webhook("whsec_…")' in html and "webhook.verify(raw_body" in html
    assert "{webhook-id}.{webhook-timestamp}.{raw body}" in html
    assert signing_secret_audit_actions(db) == []


def test_a_workflow_without_webhook_steps_shows_no_signing_secret_card(as_role, users, workflow):
    manual = factories.make_workflow(
        users["admin"],
        trigger={"type": "manual"},
        stages=[[factories.step("note", "notify", {"to_owner": True, "subject": "Hi"})]],
    )
    admin = as_role("admin")

    assert 'id="signing-secret"' in admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert 'id="signing-secret"' not in admin.get(f"/workflows/{manual.id}").get_data(as_text=True)


def test_revealing_returns_the_fragment_with_the_secret_and_a_copy_button_and_is_audited(
    as_role, db, workflow
):
    admin = as_role("admin")
    page = f"/workflows/{workflow.id}"

    response = admin.submit(f"{page}/signing-secret", {}, token_from=page, headers=HTMX)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card" id="signing-secret"')
    assert "<html" not in html
    assert (
        f'<code id="signing-secret-value" class="secret">{workflow.signing_secret}</code>' in html
    )
    assert 'data-copy="#signing-secret-value"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]
    assert signing_secret_audit_actions(db) == ["workflow.signing_secret_read"]
    # Without htmx, the whole page comes back with the secret shown.
    full = admin.submit(f"{page}/signing-secret", {}, token_from=page)
    assert "<html" in full.get_data(as_text=True)
    assert workflow.signing_secret in full.get_data(as_text=True)


def test_rotating_shows_the_new_and_the_previous_secret_until_the_grace_ends(as_role, db, workflow):
    admin = as_role("admin")
    page = f"/workflows/{workflow.id}"
    old = workflow.signing_secret

    response = admin.submit(
        f"{page}/signing-secret/rotate", {"grace_hours": "168"}, token_from=page, headers=HTMX
    )

    assert response.status_code == 200
    new, previous, expires = signing_secrets(db, workflow.id)
    assert new != old and previous == old and expires is not None
    html = response.get_data(as_text=True)
    assert new in html and old in html and "still signing until" in html
    assert signing_secret_audit_actions(db) == ["workflow.signing_secret_rotated"]
    masked = admin.get(page).get_data(as_text=True)
    assert new not in masked and old not in masked
    assert "the previous secret also signs, until" in masked


def test_the_rotate_form_offers_the_configured_grace_period_preselected(as_role, app, workflow):
    app.config["WEBHOOK_SECRET_GRACE_HOURS"] = 12
    try:
        html = as_role("admin").get(f"/workflows/{workflow.id}").get_data(as_text=True)
    finally:
        app.config["WEBHOOK_SECRET_GRACE_HOURS"] = 24

    assert re.search(r'<option selected value="12">12 hours</option>', html)


@pytest.mark.parametrize("grace", ["5", "-1", "abc", "999999"])
def test_a_rotation_with_a_grace_period_not_offered_is_400_and_changes_nothing(
    as_role, db, workflow, grace
):
    page = f"/workflows/{workflow.id}"
    before = signing_secrets(db, workflow.id)

    response = as_role("admin").submit(
        f"{page}/signing-secret/rotate", {"grace_hours": grace}, token_from=page
    )

    assert response.status_code == 400
    assert signing_secrets(db, workflow.id) == before
    assert signing_secret_audit_actions(db) == []


def test_reveal_and_rotate_need_the_csrf_token(as_role, db, workflow):
    admin = as_role("admin")
    before = signing_secrets(db, workflow.id)
    for url in ("signing-secret", "signing-secret/rotate"):
        response = admin.post(f"/workflows/{workflow.id}/{url}", data={"grace_hours": "24"})
        assert response.status_code == 400
        assert workflow.signing_secret not in response.get_data(as_text=True)
    assert signing_secrets(db, workflow.id) == before
    assert signing_secret_audit_actions(db) == []
    for url in ("/workflows/4242/signing-secret", "/workflows/4242/signing-secret/rotate"):
        assert admin.submit(url, {"grace_hours": "24"}, token_from="/account").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "owner", "approver"])
def test_nobody_but_an_admin_sees_reveals_or_rotates_the_secret(as_role, db, workflow, role):
    client = as_role(role)
    before = signing_secrets(db, workflow.id)
    responses = [
        client.get(f"/workflows/{workflow.id}"),
        client.submit(f"/workflows/{workflow.id}/signing-secret", {}, token_from="/account"),
        client.submit(
            f"/workflows/{workflow.id}/signing-secret/rotate",
            {"grace_hours": "24"},
            token_from="/account",
        ),
    ]

    for response in responses:
        assert response.status_code == 403
        assert workflow.signing_secret not in response.get_data(as_text=True)
    assert signing_secrets(db, workflow.id) == before
    assert signing_secret_audit_actions(db) == []
