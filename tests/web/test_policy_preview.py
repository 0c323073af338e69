"""The policy editor's live preview, its unsaved-changes and local-draft wiring, and the marker
that tells the browser a local draft is saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.policies.models import Policy
from governance.policies.rendering import render_markdown
from tests import factories

PREVIEW = "/policies/preview"


def _htmx_headers(client, page: str = "/policies/new") -> dict:
    return {"HX-Request": "true", "X-CSRFToken": client.csrf_token(page)}


def _preview(client, body: str, **extra):
    return client.post(PREVIEW, data={"body": body}, headers=_htmx_headers(client), **extra)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_preview_renders_the_text_as_the_policy_page_does(as_role, role):
    client = as_role(role)
    body = "# Purpose\n\nVendors are checked **before** signing.\n\n| a | b |\n|---|---|\n| 1 | 2 |"

    response = _preview(client, body)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert str(render_markdown(body)) in html
    assert "<h2>Purpose</h2>" in html  # the page title is the only <h1>
    assert "<strong>before</strong>" in html
    assert "<table>" in html
    assert "<html" not in html  # a fragment for the pane, not a page


def test_preview_shows_html_as_text_and_drops_unsafe_links(as_role):
    client = as_role("owner")

    response = _preview(
        client,
        '<script>alert("x")</script>\n\n<img src=x onerror="alert(1)">\n\n'
        "[click](javascript:alert(1)) and [ok](https://example.test)\n",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert 'href="javascript:' not in html
    assert 'href="https://example.test"' in html


def test_preview_of_empty_text_says_so(as_role):
    response = _preview(as_role("owner"), "   \n")

    assert response.status_code == 200
    assert "Nothing to preview yet" in response.get_data(as_text=True)


def test_preview_without_csrf_token_is_refused(as_role):
    client = as_role("owner")

    response = client.post(PREVIEW, data={"body": "**hi**"}, headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert "<strong>hi</strong>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_preview_is_refused_to_people_who_cannot_write_policies(as_role, role):
    client = as_role(role)
    headers = {"HX-Request": "true", "X-CSRFToken": client.csrf_token("/account")}

    response = client.post(PREVIEW, data={"body": "**hi**"}, headers=headers)

    assert response.status_code == 403
    assert "<strong>hi</strong>" not in response.get_data(as_text=True)


def test_preview_needs_a_login(client):
    headers = {"HX-Request": "true", "X-CSRFToken": client.csrf_token("/login")}

    response = client.post(PREVIEW, data={"body": "**hi**"}, headers=headers)

    # htmx is sent to the login page as a whole page (401 + HX-Redirect), never swapped in.
    assert response.status_code == 401
    assert "/login" in response.headers["HX-Redirect"]
    assert "<strong>hi</strong>" not in response.get_data(as_text=True)


def test_preview_of_text_over_the_save_limit_says_why(app, as_role, monkeypatch):
    monkeypatch.setitem(app.config, "POLICY_BODY_MAX_CHARS", 1_000)
    client = as_role("owner")

    response = _preview(client, "**a**" * 201)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The text is too long (1,005 characters; the limit is 1,000)." in html
    assert "<strong>" not in html
    assert _preview(client, "**a**" * 200).status_code == 200


def test_policy_form_opts_into_unsaved_warnings_drafts_and_preview(as_role, users, db):
    client = as_role("owner")
    policy = factories.make_policy(users["owner"])

    new_form = client.get("/policies/new").get_data(as_text=True)
    edit_form = client.get(f"/policies/{policy.id}/edit").get_data(as_text=True)

    assert 'src="/static/js/unsaved.js"' in new_form
    assert 'data-unsaved="policy:new"' in new_form
    assert 'data-draft="policy:new"' in new_form
    assert f'data-draft-user="{users["owner"].id}"' in new_form
    assert 'hx-post="/policies/preview"' in new_form
    assert f'data-draft="policy:{policy.id}" data-draft-version="{policy.version}"' in edit_form
    assert 'data-draft-field="body"' in edit_form
    assert 'data-draft-field="title"' in edit_form
    assert client.get("/static/js/unsaved.js").status_code == 200


def test_workflow_designer_and_exception_request_are_marked_for_the_unsaved_warning(
    as_role, users, db
):
    admin = as_role("admin")
    policy = factories.make_policy(users["owner"], "published", admin=users["admin"])

    designer = admin.get("/workflows/new").get_data(as_text=True)
    # The designer's add/remove buttons swap only this fragment; it carries the marker too.
    fragment = admin.post(
        "/workflows/new",
        data={"name": "W", "op": "add_stage", "trigger-type": "manual"},
        headers=_htmx_headers(admin, "/workflows/new"),
    ).get_data(as_text=True)
    request_form = as_role("owner").get(f"/policies/{policy.id}/exceptions/new")

    assert 'data-unsaved="workflow:new"' in designer
    assert fragment.lstrip().startswith('<div id="workflow-editor">')
    assert 'data-unsaved="workflow:new"' in fragment
    assert f'data-unsaved="exception:{policy.id}"' in request_form.get_data(as_text=True)


def test_creating_a_policy_tells_the_next_page_to_forget_the_new_policy_draft(as_role, users):
    client = as_role("owner")

    response = client.submit(
        "/policies/new",
        {"title": "Vendor Risk", "category": "Procurement", "body": "Text", "review_frequency": ""},
        follow_redirects=True,
    )

    html = response.get_data(as_text=True)
    assert "Policy created as a draft." in html
    assert f'data-draft-saved="policy:new" data-draft-user="{users["owner"].id}"' in html
    # A marker, not a message a person reads.
    assert 'class="flash flash-draft-saved"' not in html
    # Only once: the page after that has no marker.
    assert "data-draft-saved" not in client.get("/policies").get_data(as_text=True)


def test_saving_an_edit_tells_the_next_page_to_forget_that_policys_drafts(as_role, users, db):
    client = as_role("owner")
    policy = factories.make_policy(users["owner"], title="Vendor Risk", category="Procurement")
    url = f"/policies/{policy.id}/edit"

    response = client.submit(
        url,
        {
            "title": "Vendor Risk",
            "category": "Procurement",
            "body": "New text",
            "review_frequency": "",
            "version": str(policy.version),
        },
        follow_redirects=True,
    )

    assert "Saved as revision 2." in response.get_data(as_text=True)
    assert f'data-draft-saved="policy:{policy.id}"' in response.get_data(as_text=True)


def test_a_save_refused_with_errors_keeps_the_draft(as_role, users, db):
    client = as_role("owner")

    response = client.submit(
        "/policies/new", {"title": "", "category": "Procurement", "body": "Unsaved text"}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Give the policy a title." in html
    assert "data-draft-saved" not in html
    assert "Unsaved text" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Policy)) == 0
