"""Empty lists say what they hold and what to do next: the action only for a role that may
take it, and a filtered list with no results offers to clear its filters."""

from __future__ import annotations

import pytest


def _empty_state(html: str) -> str:
    start = html.index('<div class="empty-state">')
    return html[start : html.index("</div>", start)]


def test_an_owner_is_offered_to_create_the_first_policy_and_a_viewer_is_not(as_role, users, db):
    owner = _empty_state(as_role("owner").get("/policies").get_data(as_text=True))
    assert "No policies yet." in owner
    assert '<a class="button" href="/policies/new">Create the first policy</a>' in owner

    viewer = _empty_state(as_role("viewer").get("/policies").get_data(as_text=True))
    assert "No published policies yet." in viewer
    assert "/policies/new" not in viewer and "Create" not in viewer


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_a_filtered_list_with_no_results_offers_to_clear_the_filters(as_role, users, db, role):
    client = as_role(role)
    policies = _empty_state(client.get("/policies?q=nothing-like-this").get_data(as_text=True))
    assert "No policies match these filters." in policies
    assert '<a class="button" href="/policies">Clear filters</a>' in policies

    executions = client.get("/executions?status=failed", headers={"HX-Request": "true"})
    empty = _empty_state(executions.get_data(as_text=True))
    assert "No executions match these filters." in empty
    assert '<a class="button" href="/executions">Clear filters</a>' in empty


def test_only_an_admin_is_pointed_to_the_workflows_from_an_empty_execution_list(as_role, users, db):
    admin = _empty_state(as_role("admin").get("/executions").get_data(as_text=True))
    assert "No executions yet." in admin and 'href="/workflows">Go to workflows</a>' in admin
    viewer = _empty_state(as_role("viewer").get("/executions").get_data(as_text=True))
    assert "No executions yet." in viewer and "/workflows" not in viewer


def test_empty_lists_of_every_role_say_what_comes_there(as_role, users, db):
    pages = {
        "admin": {
            "/workflows": ("No workflows yet.", "Design the first workflow"),
            "/admin/queues/failed": ("No failed jobs.", "Open the queue page"),
            "/admin/outbox": ("No emails yet.", None),
            "/account/tokens": ("You have no API tokens yet.", "Create your first token"),
            "/evidence": ("No evidence packs yet.", None),
        },
        "approver": {
            "/approvals": ("Nothing is waiting for you.", None),
            "/approvals?tab=decided": ("You have not decided any request yet.", "See what"),
            "/policy-exceptions": ("No open (active and pending) exceptions.", "Show all"),
            "/policy-exceptions?status=all": ("No policy exceptions yet.", "Go to policies"),
        },
        "viewer": {
            "/tasks": ("Nothing to do.", None),
            "/tasks?tab=done": ("No finished tasks yet.", "See open tasks"),
            "/acknowledgements": ("Nothing to acknowledge", "Browse policies"),
            "/notifications": ("No notifications yet.", None),
        },
    }
    for role, urls in pages.items():
        client = as_role(role)
        for url, (title, action) in urls.items():
            response = client.get(url)
            assert response.status_code == 200, url
            empty = _empty_state(response.get_data(as_text=True))
            assert title in empty, url
            if action:
                assert '<a class="button"' in empty and action in empty, url
            else:
                assert "<a " not in empty, url
