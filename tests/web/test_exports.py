"""Exports through HTTP: a published version as PDF, the policies list as CSV."""

from __future__ import annotations

import csv
import io
import socket
import threading

import pytest
from pypdf import PdfReader

from governance.policies import service as policies
from governance.policies.models import PolicyRevision
from tests import factories


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _live(db, policy) -> PolicyRevision:
    db.session.expire_all()
    from governance.policies import versions

    return versions.latest_version(policy.id)


# ------------------------------------------------------------------ PDF


def test_version_pdf_carries_label_full_hash_approvers_and_publication_date(as_role, users, db):
    policy = factories.make_policy(
        users["owner"],
        status="published",
        admin=users["admin"],
        title="Access Control Policy",
        body="# Scope\n\nEvery account has an owner.\n\n- Review access quarterly\n",
    )
    version = _live(db, policy)
    assert version.version_label == "1.0"

    response = as_role("viewer").get(f"/policies/{policy.id}/versions/1.0/pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "access-control-policy-v1.0.pdf" in disposition
    text = _pdf_text(response.data)
    flat = "".join(text.split())
    assert "Access Control Policy" in text
    assert "Version 1.0" in text
    assert version.content_hash in flat
    assert users["admin"].name in text  # the manual approval is a frozen approver
    assert version.published_at.strftime("%Y-%m-%d %H:%M UTC") in text
    assert users["owner"].name in text  # owner and publisher
    assert "Every account has an owner." in text
    assert "Page 1 of 1" in text


def test_viewer_cannot_get_a_draft_only_policys_pdf(as_role, users, db):
    draft = factories.make_policy(users["owner"], title="Secret draft")

    assert as_role("viewer").get(f"/policies/{draft.id}/versions/1.0/pdf").status_code == 404
    # Even those who may read drafts find no version to print before publication.
    assert as_role("admin").get(f"/policies/{draft.id}/versions/1.0/pdf").status_code == 404


def test_unknown_version_label_is_not_found(as_role, users, db):
    policy = factories.make_policy(users["owner"], status="published", admin=users["admin"])

    assert as_role("viewer").get(f"/policies/{policy.id}/versions/9.9/pdf").status_code == 404
    assert as_role("viewer").get(f"/policies/{policy.id}/versions/x/pdf").status_code == 404


def test_pdf_requires_login(client, users, db):
    policy = factories.make_policy(users["owner"], status="published", admin=users["admin"])

    response = client.get(f"/policies/{policy.id}/versions/1.0/pdf")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_rendering_a_pdf_fetches_nothing_a_policy_links_to(as_role, users, db):
    hits: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                hits.append(connection.recv(1024))
                connection.close()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        policy = factories.make_policy(
            users["owner"],
            status="published",
            admin=users["admin"],
            body=f"![logo](http://127.0.0.1:{port}/logo.png)\n\nText after the image.\n",
        )
        response = as_role("viewer").get(f"/policies/{policy.id}/versions/1.0/pdf")
        stop.set()
        thread.join(timeout=2)

    assert response.status_code == 200
    assert "Text after the image." in _pdf_text(response.data)
    assert hits == []


def test_policy_page_offers_the_live_versions_pdf(as_role, users, db):
    published = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    draft = factories.make_policy(users["owner"])

    page = as_role("viewer").get(f"/policies/{published.id}").get_data(as_text=True)
    assert f'href="/policies/{published.id}/versions/1.0/pdf"' in page
    assert "Download PDF (v1.0)" in page

    draft_page = as_role("owner").get(f"/policies/{draft.id}").get_data(as_text=True)
    assert "Download PDF" not in draft_page


def test_a_policy_under_revision_still_offers_its_live_version(as_role, users, db):
    policy = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    policies.transition_policy(policy.id, "draft", actor=users["owner"])
    factories.edit_policy(policy.id, users["owner"], body="# Changed\n\nNot yet live.\n")

    page = as_role("viewer").get(f"/policies/{policy.id}").get_data(as_text=True)
    response = as_role("viewer").get(f"/policies/{policy.id}/versions/1.0/pdf")

    assert "Download PDF (v1.0)" in page
    text = _pdf_text(response.data)
    assert "Keep things safe." in text
    assert "Not yet live." not in text


# ------------------------------------------------------------------ CSV


def test_policies_csv_lists_every_column_with_the_live_version(as_role, users, db):
    published = factories.make_policy(
        users["owner"],
        status="published",
        admin=users["admin"],
        title="Backup Policy",
        category="Operations",
        tags=["backups", "dr"],
    )
    factories.make_policy(users["owner"], title="Draft policy", category="Legal")

    response = as_role("admin").get("/policies/export.csv?sort=title")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = _csv_rows(response)
    assert [row["title"] for row in rows] == ["Backup Policy", "Draft policy"]
    first = rows[0]
    assert list(first) == [
        "id",
        "title",
        "status",
        "category",
        "tags",
        "owner",
        "current_revision",
        "live_version",
        "next_review",
        "updated",
    ]
    assert first["id"] == str(published.id)
    assert first["status"] == "published"
    assert first["category"] == "Operations"
    assert first["tags"] == "backups, dr"
    assert first["owner"] == users["owner"].name
    assert first["live_version"] == "1.0"
    assert rows[1]["live_version"] == ""


def test_policies_csv_applies_the_list_filters(as_role, users, db):
    factories.make_policy(users["owner"], title="Vendor risk", category="Procurement")
    factories.make_policy(users["owner"], title="Vendor onboarding", category="Legal")
    factories.make_policy(users["other_owner"], title="Clean desk", category="Procurement")

    client = as_role("admin")
    by_category = _csv_rows(client.get("/policies/export.csv?category=Procurement&sort=title"))
    by_text = _csv_rows(client.get("/policies/export.csv?q=vendor&sort=title"))
    by_owner = _csv_rows(client.get(f"/policies/export.csv?owner={users['other_owner'].id}"))

    assert [row["title"] for row in by_category] == ["Clean desk", "Vendor risk"]
    assert [row["title"] for row in by_text] == ["Vendor onboarding", "Vendor risk"]
    assert [row["title"] for row in by_owner] == ["Clean desk"]


def test_policies_csv_shows_viewers_only_what_the_list_shows_them(as_role, users, db):
    factories.make_policy(users["owner"], status="published", admin=users["admin"], title="Live")
    factories.make_policy(users["owner"], title="Draft")
    factories.make_policy(users["owner"], status="retired", admin=users["admin"], title="Old")

    rows = _csv_rows(as_role("viewer").get("/policies/export.csv"))

    assert [row["title"] for row in rows] == ["Live"]


def test_policies_csv_defuses_spreadsheet_formulas(as_role, users, db):
    factories.make_policy(
        users["owner"], title='=HYPERLINK("http://evil.example","x")', category="+cmd"
    )

    response = as_role("admin").get("/policies/export.csv")
    row = _csv_rows(response)[0]

    assert row["title"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["category"] == "'+cmd"


def test_policies_csv_requires_login(client, db):
    response = client.get("/policies/export.csv")

    assert response.status_code == 302


@pytest.mark.parametrize("htmx", [False, True])
def test_export_link_carries_the_current_filters(as_role, users, db, htmx):
    factories.make_policy(users["owner"], category="Legal")
    headers = {"HX-Request": "true"} if htmx else {}

    html = (
        as_role("admin")
        .get("/policies?category=Legal&status=draft&page=1", headers=headers)
        .get_data(as_text=True)
    )

    assert "Export CSV" in html
    assert 'href="/policies/export.csv?category=Legal&amp;status=draft"' in html
