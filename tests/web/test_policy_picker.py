"""The policy picker of the workflow page's Run and Dry run: a search (GET) that lists matching
policies with title, status and owner, for admins only, within what the user may read; without
JavaScript the page itself lists what a search found, and Run refuses a policy that is not there.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from governance.engine.models import Execution
from governance.workflows import policy_picker
from tests import factories


def _policies(users, db):
    owner = users["owner"]
    owner.name = "Omar Owner"
    db.session.commit()
    return {
        "travel": factories.make_policy(owner, title="Travel expenses"),
        "safety": factories.make_policy(
            users["other_owner"], "published", admin=users["admin"], title="Travel safety"
        ),
        "retention": factories.make_policy(owner, title="Data retention"),
    }


def _executions(db) -> list[tuple[int, int | None]]:
    return [tuple(row) for row in db.session.execute(sa.select(Execution.id, Execution.policy_id))]


def _options(html: str, picker: str) -> list[str]:
    """The option labels of a picker's select, in order."""
    select = re.search(rf'<select id="{picker}-policy".*?</select>', html, re.S)
    assert select, f"no {picker} picker in the page"
    return [label.strip() for label in re.findall(r"<option[^>]*>(.*?)</option>", select[0], re.S)]


def test_the_search_lists_matching_policies_with_title_status_and_owner(as_role, users, db):
    found = _policies(users, db)
    answer = as_role("admin").get("/workflows/policy-picker?picker=run&q=trav")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert _options(html, "run") == [
        "Travel expenses · Draft · Omar Owner",
        f"Travel safety · Published · {users['other_owner'].name}",
    ]
    assert "2 policies match “trav”." in html
    assert f'value="{found["retention"].id}"' not in html


def test_the_search_keeps_the_chosen_policy_and_chooses_a_lone_match(as_role, users, db):
    found = _policies(users, db)
    admin = as_role("admin")
    kept = admin.get(
        f"/workflows/policy-picker?picker=dry&q=travel&policy_id={found['safety'].id}"
    ).get_data(as_text=True)
    assert f'<option value="{found["safety"].id}" selected>' in kept
    lone = admin.get("/workflows/policy-picker?picker=run&q=retention").get_data(as_text=True)
    assert f'<option value="{found["retention"].id}" selected>' in lone
    assert "1 policy matches “retention”." in lone


def test_the_search_lists_a_bounded_number_and_says_when_more_match(as_role, users, db):
    for number in range(policy_picker.LIMIT + 1):
        factories.make_policy(users["owner"], title=f"Vendor rule {number:02}")
    html = (
        as_role("admin").get("/workflows/policy-picker?picker=run&q=vendor").get_data(as_text=True)
    )
    assert len(_options(html, "run")) == policy_picker.LIMIT
    assert "More than 20 policies match “vendor”: the first 20 by title." in html
    nothing = as_role("admin").get("/workflows/policy-picker?picker=run&q=<b>zzz")
    assert "No policy matches “&lt;b&gt;zzz”." in nothing.get_data(as_text=True)


@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
def test_only_admins_search_policies_for_a_workflow(as_role, users, db, role):
    _policies(users, db)
    assert as_role(role).get("/workflows/policy-picker?picker=run&q=trav").status_code == 403


def test_an_anonymous_search_is_sent_to_log_in(client, users, db):
    answer = client.get("/workflows/policy-picker?picker=run&q=trav")
    assert answer.status_code == 302 and "/login" in answer.location


def test_an_unknown_picker_is_not_found(as_role, users, db):
    assert as_role("admin").get("/workflows/policy-picker?picker=nope").status_code == 404


def test_a_picker_lists_only_policies_its_user_may_read(app, users, db):
    found = _policies(users, db)
    with app.test_request_context():
        listed = policy_picker.pick("dry", users["viewer"], text="travel").policies
    assert [policy.id for policy in listed] == [found["safety"].id]


def test_without_javascript_a_search_lists_policies_and_run_starts_one(as_role, users, db):
    workflow = factories.make_task_workflow(users["admin"])
    found = _policies(users, db)
    admin = as_role("admin")
    page = admin.get(f"/workflows/{workflow.id}?picker=run&q=expenses").get_data(as_text=True)
    assert _options(page, "run") == ["Travel expenses · Draft · Omar Owner"]
    assert f'<option value="{found["travel"].id}" selected>' in page
    # The other picker is not searched: it lists every policy.
    assert len(_options(page, "dry")) == 1 + 3
    answer = admin.submit(
        f"/workflows/{workflow.id}/run",
        {"policy_id": str(found["travel"].id)},
        token_from=f"/workflows/{workflow.id}",
    )
    assert answer.status_code == 303
    assert [policy_id for _, policy_id in _executions(db)] == [found["travel"].id]


def test_without_javascript_a_search_lists_policies_for_the_dry_run(as_role, users, db):
    workflow = factories.make_task_workflow(users["admin"])
    found = _policies(users, db)
    admin = as_role("admin")
    page = admin.get(f"/workflows/{workflow.id}?picker=dry&q=safety").get_data(as_text=True)
    assert _options(page, "dry") == [
        "Without a policy",
        f"Travel safety · Published · {users['other_owner'].name}",
    ]
    report = admin.get(f"/workflows/{workflow.id}/dry-run?policy_id={found['safety'].id}")
    assert "Check Travel safety" in report.get_data(as_text=True)
    gone = admin.get(f"/workflows/{workflow.id}/dry-run?policy_id=99999")
    assert "There is no policy 99999; choose an existing policy." in gone.get_data(as_text=True)
    assert _executions(db) == []


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("99999", "There is no policy 99999; choose an existing policy."),
        ("abc", "Enter a whole number from 1 to 2147483647."),
    ],
)
def test_run_with_a_policy_that_is_not_there_says_so_on_the_form(as_role, users, db, sent, message):
    workflow = factories.make_task_workflow(users["admin"])
    _policies(users, db)
    answer = as_role("admin").submit(
        f"/workflows/{workflow.id}/run", {"policy_id": sent}, token_from=f"/workflows/{workflow.id}"
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert re.search(rf'<p class="error" id="run-policy-error">{re.escape(message)}</p>', html)
    assert 'aria-invalid="true"' in html
    assert _executions(db) == []
