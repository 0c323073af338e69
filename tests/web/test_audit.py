"""The audit trail through HTTP: /admin/audit with its filters, the CSV export, the old address,
and the History links on object pages."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
import sqlalchemy as sa

from governance.audit import service as audit
from governance.audit import signing
from governance.audit.checkpoint_writer import write_checkpoint
from governance.audit.models import AuditEvent
from governance.engine.models import Execution
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_workflow, step


def _record_on(monkeypatch, db, day: str, **fields) -> None:
    """One audit event committed as if it happened at noon (UTC) on `day`."""
    moment = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    with monkeypatch.context() as patch:
        patch.setattr(audit, "utcnow", lambda: moment)
        audit.record_event(
            **{"actor_id": None, "action": "test.event", "object_type": "test", "object_id": 1}
            | fields
        )
        db.session.commit()


def _events(db) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))


def _csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# ------------------------------------------------------------------ the page


def test_a_changed_dict_reads_as_a_table_and_a_changed_list_as_its_values(
    as_role, users, db, monkeypatch
):
    _record_on(
        monkeypatch,
        db,
        "2026-03-01",
        changes={
            "trigger": {"before": {"type": "manual"}, "after": {"type": "policy.created"}},
            "tags": {"before": ["pci"], "after": ["pci", "gdpr"]},
            "title": {"before": None, "after": "Travel"},
        },
    )

    html = as_role("admin").get("/admin/audit").get_data(as_text=True)

    assert '<th scope="row">type</th><td><span class="data-text">policy.created</span>' in html
    assert "<ins>pci, gdpr</ins>" in html
    assert "<del>—</del> → <ins>Travel</ins>" in html
    assert "{&#39;type&#39;" not in html  # no Python repr of a dict


def test_admin_sees_events_newest_first_with_their_position_and_short_hash(as_role, users, db):
    policy = factories.make_policy(users["owner"], title="Audited")
    factories.edit_policy(policy.id, users["owner"], title="Audited again")
    created, updated = _events(db)

    html = as_role("admin").get("/admin/audit").get_data(as_text=True)

    assert html.index(f'id="audit-row-{updated.id}"') < html.index(f'id="audit-row-{created.id}"')
    assert f'<code title="SHA-256 {updated.hash} (previous: {created.hash})">' in html
    assert f">{updated.hash[:12]}</code>" in html
    assert '<td title="Position in the audit chain">2</td>' in html
    assert f'href="/policies/{policy.id}">policy {policy.id}</a>' in html


def test_the_nav_links_to_the_new_address(as_role, users, db):
    html = as_role("admin").get("/policies").get_data(as_text=True)
    assert 'href="/admin/audit"' in html


def test_every_object_type_written_can_be_chosen(monkeypatch, as_role, users, db):
    for kind in ("approval_request", "execution", "outbound_email"):
        _record_on(monkeypatch, db, "2026-03-01", object_type=kind)

    html = as_role("admin").get("/admin/audit").get_data(as_text=True)

    options = html[html.index('id="object_type"') : html.index('id="object_id"')]
    for kind in ("approval_request", "execution", "outbound_email", "user"):
        assert f"<option >{kind}</option>" in options


def test_filters_by_action_actor_object_and_id(monkeypatch, as_role, users, db):
    admin_id, owner_id = users["admin"].id, users["owner"].id
    _record_on(monkeypatch, db, "2026-03-01", action="a.one", actor_id=admin_id, object_id=1)
    _record_on(monkeypatch, db, "2026-03-01", action="a.two", actor_id=owner_id, object_id=2)
    _record_on(monkeypatch, db, "2026-03-01", action="a.one", object_type="other", object_id=2)
    first, second, third = (event.id for event in _events(db)[-3:])
    client = as_role("admin")

    def rows(query: str) -> set[int]:
        html = client.get(f"/admin/audit?{query}").get_data(as_text=True)
        return {n for n in (first, second, third) if f'id="audit-row-{n}"' in html}

    assert rows("action=a.one") == {first, third}
    assert rows(f"actor={owner_id}") == {second}
    assert rows("object_type=test") == {first, second}
    assert rows("object_type=test&object_id=2") == {second}
    assert rows("action=a.one&object_id=2") == {third}


def test_dates_filter_whole_utc_days_both_included(monkeypatch, as_role, users, db):
    for day in ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"):
        _record_on(monkeypatch, db, day, summary=f"on {day}")
    client = as_role("admin")

    def days(query: str) -> list[str]:
        html = client.get(f"/admin/audit?{query}").get_data(as_text=True)
        return [day for day in ("01", "02", "03", "04") if f"on 2026-03-{day}" in html]

    assert days("from=2026-03-02&to=2026-03-03") == ["02", "03"]
    assert days("from=2026-03-03") == ["03", "04"]
    assert days("to=2026-03-01") == ["01"]
    assert days("from=2026-03-02&to=2026-03-02") == ["02"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30", "“From”: Enter the date as YYYY-MM-DD, e.g. 2030-12-31."),
        ("to=yesterday", "“To”: Enter the date as YYYY-MM-DD, e.g. 2030-12-31."),
        ("to=9999-12-31", "“To”: Dates must be between 1900-01-01 and 2999-12-31."),
        ("from=2026-03-05&to=2026-03-01", "“From” must be on or before “To”."),
        ("object_id=abc", "The object id: Enter a whole number from 1 to 2147483647."),
        ("object_id=99999999999999999999", "The object id: Enter a whole number from 1 to"),
        ("actor=-1", "The actor: Enter a whole number from 1 to 2147483647."),
    ],
)
def test_a_bad_filter_shows_a_clear_message_and_no_events(
    monkeypatch, as_role, users, db, query, message
):
    _record_on(monkeypatch, db, "2026-03-01", summary="should not show")
    client = as_role("admin")

    page = client.get(f"/admin/audit?{query}")
    fragment = client.get(f"/admin/audit?{query}", headers={"HX-Request": "true"})

    for response in (page, fragment):
        html = response.get_data(as_text=True)
        assert response.status_code == 200  # htmx swaps it in like any filtered result
        assert message in html
        assert "should not show" not in html
    assert "<h1>" not in fragment.get_data(as_text=True)


def test_the_filters_fragment_carries_the_export_link_with_the_same_filters(as_role, users, db):
    html = as_role("admin").get(
        "/admin/audit?action=policy.created&page=2", headers={"HX-Request": "true"}
    )
    assert 'href="/admin/audit.csv?action=policy.created"' in html.get_data(as_text=True)


def test_the_old_address_redirects_permanently_keeping_the_filters(client):
    response = client.get("/audit?object_type=policy&object_id=3")
    assert response.status_code == 301
    assert response.headers["Location"] == "/admin/audit?object_type=policy&object_id=3"
    assert client.get("/audit").headers["Location"] == "/admin/audit"


def test_only_admins_may_read_the_trail_or_export_it(as_role, users, db):
    for role in ("owner", "approver", "viewer"):
        client = as_role(role)
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit.csv").status_code == 403
        assert client.get("/admin/audit/checkpoints.jsonl").status_code == 403


# ------------------------------------------------------------------ checkpoints


def test_the_page_lists_the_signed_checkpoints_newest_first_with_a_download(as_role, users, db):
    factories.make_policy(users["owner"], title="Audited")
    first = write_checkpoint(utcnow())
    factories.make_policy(users["owner"], title="Audited again")
    second = write_checkpoint(utcnow())

    html = as_role("admin").get("/admin/audit").get_data(as_text=True)

    assert "2 signed checkpoints" in html
    assert html.index(f'id="audit-checkpoint-{second.seq}"') < html.index(
        f'id="audit-checkpoint-{first.seq}"'
    )
    assert f'<code title="HMAC-SHA256 {second.signature}">{second.signature[:12]}</code>' in html
    assert 'href="/admin/audit/checkpoints.jsonl"' in html


def test_the_page_says_how_checkpoints_come_when_there_is_none(as_role, users, db):
    html = as_role("admin").get("/admin/audit").get_data(as_text=True)
    assert "No checkpoint yet. A consumer signs one every 60 minutes" in html
    assert "checkpoints.jsonl" not in html


def test_the_checkpoints_download_is_every_checkpoint_as_a_signed_json_line(as_role, users, db):
    factories.make_policy(users["owner"], title="Audited")
    first = write_checkpoint(utcnow())
    factories.make_policy(users["owner"], title="Audited again")
    second = write_checkpoint(utcnow())

    response = as_role("admin").get("/admin/audit/checkpoints.jsonl")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="steward-audit-checkpoints-'
    )
    lines = response.get_data(as_text=True).splitlines()
    assert lines == [signing.to_line(first), signing.to_line(second)]
    assert [signing.from_line(line) for line in lines] == [first, second]


# ------------------------------------------------------------------ CSV


def test_the_csv_export_has_every_filtered_event_in_chain_order(monkeypatch, as_role, users, db):
    admin_id = users["admin"].id
    _record_on(monkeypatch, db, "2026-03-01", action="x.kept", actor_id=admin_id, object_id=5)
    _record_on(monkeypatch, db, "2026-03-02", action="x.other")
    _record_on(
        monkeypatch,
        db,
        "2026-03-03",
        action="x.kept",
        summary="Second",
        changes={"b": 1, "a": [1, 2]},
    )
    kept = [event for event in _events(db) if event.action == "x.kept"]

    response = as_role("admin").get("/admin/audit.csv?action=x.kept")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="steward-audit-')
    assert disposition.endswith('.csv"')
    rows = _csv_rows(response)
    assert list(rows[0]) == [
        "seq",
        "created_at",
        "actor_email",
        "action",
        "object_type",
        "object_id",
        "summary",
        "changes",
        "hash",
    ]
    assert [row["seq"] for row in rows] == [str(event.seq) for event in kept]
    assert rows[0] | {"hash": ""} == {
        "seq": str(kept[0].seq),
        "created_at": "2026-03-01T12:00:00.000000+00:00",
        "actor_email": "admin@example.test",
        "action": "x.kept",
        "object_type": "test",
        "object_id": "5",
        "summary": "",
        "changes": "{}",
        "hash": "",
    }
    assert rows[0]["hash"] == kept[0].hash
    assert rows[1]["actor_email"] == ""
    assert rows[1]["changes"] == '{"a":[1,2],"b":1}'


def test_the_csv_export_honours_dates(monkeypatch, as_role, users, db):
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        _record_on(monkeypatch, db, day, summary=day)
    response = as_role("admin").get("/admin/audit.csv?from=2026-03-02&to=2026-03-02")
    assert [row["summary"] for row in _csv_rows(response)] == ["2026-03-02"]


def test_the_csv_export_defuses_spreadsheet_formulas(monkeypatch, as_role, users, db):
    _record_on(monkeypatch, db, "2026-03-01", summary='=HYPERLINK("http://evil.example")')
    _record_on(monkeypatch, db, "2026-03-01", summary="@SUM(A1)", action="-2+3")
    rows = _csv_rows(as_role("admin").get("/admin/audit.csv"))
    assert rows[0]["summary"] == '\'=HYPERLINK("http://evil.example")'
    assert (rows[1]["summary"], rows[1]["action"]) == ("'@SUM(A1)", "'-2+3")


def test_the_csv_export_refuses_a_bad_date_with_the_reason(as_role, users, db):
    response = as_role("admin").get("/admin/audit.csv?from=2026-13-01")
    assert response.status_code == 400
    assert "“From”: Enter the date as YYYY-MM-DD, e.g. 2030-12-31." in response.get_data(
        as_text=True
    )


def test_the_export_reads_events_in_keyset_batches(monkeypatch, db, count_statements):
    for number in range(5):
        _record_on(monkeypatch, db, "2026-03-01", object_id=number)
    with count_statements() as counter:
        rows = list(audit.events_for_export(audit.AuditQuery(), batch_size=2))
    assert [row.object_id for row in rows] == [0, 1, 2, 3, 4]
    selects = [sql for sql in counter.statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3
    # Each batch starts after the last seq it saw, however deep into the trail it is.
    assert all("audit_events.seq >" in sql for sql in selects[1:])


# ------------------------------------------------------------------ History links


def _history(kind: str, object_id: int) -> str:
    return f'href="/admin/audit?object_type={kind}&amp;object_id={object_id}">History</a>'


def test_admins_find_a_history_link_on_every_object_page(as_role, users, db):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )
    policy = factories.make_policy(users["owner"])
    execution_id = db.session.scalar(sa.select(Execution.id))
    group_id = users["approver"].groups[0].id
    client = as_role("admin")

    pages = {
        f"/policies/{policy.id}": _history("policy", policy.id),
        f"/workflows/{workflow.id}": _history("workflow", workflow.id),
        f"/executions/{execution_id}": _history("execution", execution_id),
        f"/admin/users/{users['owner'].id}": _history("user", users["owner"].id),
        f"/admin/groups/{group_id}": _history("group", group_id),
    }
    for url, link in pages.items():
        html = client.get(url).get_data(as_text=True)
        assert link in html, url


def test_others_see_no_history_link(as_role, users, db):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )
    policy = factories.make_policy(users["owner"])
    execution_id = db.session.scalar(sa.select(Execution.id))
    for role in ("owner", "approver"):
        client = as_role(role)
        for url in (f"/policies/{policy.id}", f"/executions/{execution_id}"):
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert ">History</a>" not in response.get_data(as_text=True), (role, url)


def test_a_history_link_lands_on_that_objects_events(as_role, users, db):
    policy = factories.make_policy(users["owner"], title="Tracked")
    factories.make_policy(users["owner"], title="Untracked")
    html = (
        as_role("admin")
        .get(f"/admin/audit?object_type=policy&object_id={policy.id}")
        .get_data(as_text=True)
    )
    assert "Tracked" in html
    assert "Untracked" not in html
    assert "<option selected>policy</option>" in html
