"""Acknowledgements through HTTP and the real database: the audience's settings, a campaign per
major version with a roster snapshot, "I have read and understood" recorded once with its
evidence, the campaign page and its CSV, reminders once per threshold, and who may see what."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import sqlalchemy as sa

from devdata.demo import DEMO_PASSWORD
from governance.acknowledgements import service as acks
from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.audit.models import AuditEvent
from governance.notifications.models import Notification
from governance.policies import service as policies
from governance.timeutil import utcnow
from tests import factories


def _published(users, **fields):
    return factories.make_policy(users["owner"], status="published", admin=users["admin"], **fields)


def _require(policy, actor, *, everyone=True, group_ids=()):
    return acks.update_settings(
        policy.id,
        acks.AckSettings(required=True, everyone=everyone, group_ids=list(group_ids)),
        actor=actor,
    )


def _publish_new_version(policy_id, users, change_kind, body):
    owner, admin = users["owner"], users["admin"]
    policies.transition_policy(policy_id, "draft", actor=owner)
    factories.edit_policy(policy_id, owner, body=body)
    policies.transition_policy(policy_id, "in_review", actor=owner, change_kind=change_kind)
    policies.transition_policy(policy_id, "approved", actor=admin)
    policies.transition_policy(policy_id, "published", actor=owner)


def _campaigns(db, policy_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AckCampaign)
            .where(AckCampaign.policy_id == policy_id)
            .order_by(AckCampaign.id)
        )
    )


def _rows(db, campaign_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Acknowledgement)
            .where(Acknowledgement.campaign_id == campaign_id)
            .order_by(Acknowledgement.user_id)
        )
    )


def _row_of(db, campaign_id, user):
    return next(row for row in _rows(db, campaign_id) if row.user_id == user.id)


# ---------------------------------------------------------------- settings and campaigns


def test_owner_switches_acknowledgement_on_and_a_campaign_opens_for_the_live_version(
    db, users, as_role
):
    policy = _published(users)
    client = as_role("owner")
    url = f"/policies/{policy.id}/acknowledgement"
    legal = users["approver"].groups[0]

    response = client.submit(url, {"required": "y", "audience": "groups", "groups": [legal.id]})

    assert response.status_code == 303
    [campaign] = _campaigns(db, policy.id)
    assert campaign.version_label == "1.0"
    assert campaign.audience == "Legal"
    assert campaign.closed_at is None
    assert campaign.due_on == utcnow().date() + timedelta(days=14)
    assert [row.user_id for row in _rows(db, campaign.id)] == [users["approver"].id]
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "policy.ack_settings_changed" in actions
    assert "acknowledgement.campaign_opened" in actions
    # The audience hears about it.
    assert db.session.scalar(
        sa.select(Notification).where(Notification.user_id == users["approver"].id)
    ).subject.startswith("Please read and acknowledge")


def test_settings_form_refuses_groups_audience_without_a_group(db, users, as_role):
    policy = _published(users)

    response = as_role("owner").submit(
        f"/policies/{policy.id}/acknowledgement", {"required": "y", "audience": "groups"}
    )

    assert response.status_code == 200
    assert "Choose at least one group, or choose Everyone." in response.get_data(as_text=True)
    assert _campaigns(db, policy.id) == []


def test_only_the_owner_or_an_admin_changes_the_settings(db, users, as_role):
    policy = _published(users)
    url = f"/policies/{policy.id}/acknowledgement"

    assert as_role("other_owner").get(url).status_code == 403
    assert as_role("viewer").get(url).status_code == 403
    assert as_role("admin").get(url).status_code == 200


def test_roster_is_a_snapshot_of_the_enabled_audience(db, users):
    factories.make_user("viewer", enabled=False)
    policy = _published(users)

    campaign_id = _require(policy, users["owner"])
    late_joiner = factories.make_user("viewer")

    roster = {row.user_id for row in _rows(db, campaign_id)}
    assert roster == {user.id for user in users.values()}
    assert late_joiner.id not in roster


def test_major_version_asks_everyone_again_and_minor_does_not(db, users):
    policy = _published(users)
    first_id = _require(policy, users["owner"])
    viewer = users["viewer"]
    row = _row_of(db, first_id, viewer)
    assert acks.acknowledge(row.id, user=viewer, ip_address="10.0.0.1", user_agent="UA")

    _publish_new_version(policy.id, users, "minor", "# Purpose\n\nKeep things very safe.\n")

    [campaign] = _campaigns(db, policy.id)
    assert campaign.id == first_id and campaign.closed_at is None
    assert _row_of(db, first_id, viewer).acknowledged_at is not None
    # Someone acknowledging now confirms the live minor version.
    approver = users["approver"]
    acks.acknowledge(
        _row_of(db, first_id, approver).id, user=approver, ip_address=None, user_agent=None
    )
    assert _row_of(db, first_id, approver).version_label == "1.1"

    _publish_new_version(policy.id, users, "major", "# Purpose\n\nA new rule.\n")

    old, new = _campaigns(db, policy.id)
    assert old.closed_at is not None
    assert new.version_label == "2.0" and new.closed_at is None
    assert all(row.acknowledged_at is None for row in _rows(db, new.id))
    assert {row.user_id for row in _rows(db, new.id)} == {user.id for user in users.values()}
    assert acks.open_count(viewer.id) == 1


def test_first_publication_of_a_policy_requiring_acknowledgement_opens_a_campaign(db, users):
    policy = factories.make_policy(users["owner"])
    assert _require(policy, users["owner"]) is None  # a draft: nothing to read yet

    for target, actor in (("in_review", "owner"), ("approved", "admin"), ("published", "owner")):
        policies.transition_policy(policy.id, target, actor=users[actor])

    [campaign] = _campaigns(db, policy.id)
    assert campaign.version_label == "1.0"


def test_retiring_the_policy_closes_its_campaign(db, users):
    policy = _published(users)
    _require(policy, users["owner"])

    policies.transition_policy(policy.id, "retired", actor=users["owner"], reason="Gone")

    [campaign] = _campaigns(db, policy.id)
    assert campaign.closed_at is not None
    assert acks.open_count(users["viewer"].id) == 0


# ---------------------------------------------------------------- acknowledging


def test_acknowledging_records_version_hash_ip_and_user_agent_once(db, users, as_role):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    row = _row_of(db, campaign_id, users["viewer"])
    client = as_role("viewer")
    page = client.get(f"/acknowledgements/{row.id}")
    assert page.status_code == 200
    assert "Keep things safe." in page.get_data(as_text=True)
    user_agent = "Mozilla/5.0 " + "x" * 400

    first = client.submit(
        f"/acknowledgements/{row.id}/acknowledge",
        token_from=f"/acknowledgements/{row.id}",
        headers={"User-Agent": user_agent},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    second = client.submit(
        f"/acknowledgements/{row.id}/acknowledge",
        token_from="/acknowledgements",
        headers={"User-Agent": "another"},
        environ_base={"REMOTE_ADDR": "198.51.100.1"},
    )

    assert first.status_code == second.status_code == 303
    row = _row_of(db, campaign_id, users["viewer"])
    live = policies.get_revision(policy.id, 1)
    assert row.acknowledged_at is not None
    assert row.version_label == "1.0"
    assert row.content_hash == live.content_hash
    assert row.ip_address == "203.0.113.9"
    assert row.user_agent == user_agent[:300]
    recorded = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "acknowledgement.recorded")
    ).all()
    assert len(recorded) == 1
    assert client.get("/acknowledgements").status_code == 200
    assert acks.open_count(users["viewer"].id) == 0


def test_someone_elses_row_is_not_found(db, users, as_role):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    row = _row_of(db, campaign_id, users["approver"])
    client = as_role("viewer")

    assert client.get(f"/acknowledgements/{row.id}").status_code == 404
    response = client.submit(
        f"/acknowledgements/{row.id}/acknowledge", token_from="/acknowledgements"
    )

    assert response.status_code == 404
    assert _row_of(db, campaign_id, users["approver"]).acknowledged_at is None


def test_acknowledging_without_csrf_token_is_refused(db, users, as_role):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    row = _row_of(db, campaign_id, users["viewer"])

    response = as_role("viewer").post(f"/acknowledgements/{row.id}/acknowledge")

    assert response.status_code == 400
    assert _row_of(db, campaign_id, users["viewer"]).acknowledged_at is None


def test_navigation_counts_what_waits_for_me(db, users, as_role):
    _require(_published(users), users["owner"])
    _require(_published(users), users["owner"])
    client = as_role("viewer")

    html = client.get("/policies").get_data(as_text=True)
    assert re.search(r'id="nav-ack-count"\s*> <span class="nav-badge">2</span>', html)
    counts = client.get("/nav/counts", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="nav-ack-count" hx-swap-oob="true"> <span class="nav-badge">2</span>' in counts
    assert client.get("/acknowledgements").get_data(as_text=True).count('class="ack-row') == 2


# ---------------------------------------------------------------- campaign page and CSV


def test_campaign_page_shows_figures_and_lists_to_readers_of_all_policies(db, users, as_role):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    viewer = users["viewer"]
    acks.acknowledge(
        _row_of(db, campaign_id, viewer).id, user=viewer, ip_address=None, user_agent=None
    )

    for role in ("admin", "owner", "approver"):
        response = as_role(role).get(f"/policies/{policy.id}/acknowledgements")
        assert response.status_code == 200, role
    html = response.get_data(as_text=True)
    assert "1 of 6 acknowledged" in html
    assert f'id="ack-percent-{campaign_id}" class="ack-big">16%' in html
    assert 'hx-trigger="every 3s"' in html
    assert as_role("viewer").get(f"/policies/{policy.id}/acknowledgements").status_code == 404
    assert as_role("viewer").get(f"/acknowledgements/campaigns/{campaign_id}").status_code == 404
    assert (
        as_role("viewer").get(f"/acknowledgements/campaigns/{campaign_id}.csv").status_code == 404
    )
    # The policy page links to it with a summary.
    show = as_role("owner").get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "1 of 6 acknowledged" in show
    assert f"/policies/{policy.id}/acknowledgements" in show


def test_campaign_poll_answers_no_content_while_nothing_changed(db, users, as_role):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    client = as_role("admin")
    url = f"/acknowledgements/campaigns/{campaign_id}"
    hx = {"HX-Request": "true"}

    fragment = client.get(url, headers=hx)
    unchanged = client.get(f"{url}?seen=6-0-0", headers=hx)
    viewer = users["viewer"]
    acks.acknowledge(
        _row_of(db, campaign_id, viewer).id, user=viewer, ip_address=None, user_agent=None
    )
    changed = client.get(f"{url}?seen=6-0-0", headers=hx)

    assert fragment.status_code == 200
    assert f'id="ack-campaign-{campaign_id}"' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert unchanged.status_code == 204
    assert changed.status_code == 200
    assert "1 of 6 acknowledged" in changed.get_data(as_text=True)


def test_overdue_people_are_listed_once_the_due_date_passes(db, users, as_role):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    campaign = db.session.get(AckCampaign, campaign_id)
    campaign.due_on = utcnow().date() - timedelta(days=1)
    db.session.commit()

    html = as_role("admin").get(f"/acknowledgements/campaigns/{campaign_id}").get_data(as_text=True)

    assert "6 overdue" in html
    assert "Overdue (6)" in html
    mine = as_role("viewer").get("/acknowledgements").get_data(as_text=True)
    assert "Overdue" in mine


def test_csv_roster_has_every_column_and_defuses_formulas(db, users, as_role):
    evil = factories.make_user("viewer", name='=HYPERLINK("http://x")', email="evil@example.test")
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    viewer = users["viewer"]
    acks.acknowledge(
        _row_of(db, campaign_id, viewer).id,
        user=viewer,
        ip_address="203.0.113.9",
        user_agent="@SUM(1)",
    )

    response = as_role("admin").get(f"/acknowledgements/campaigns/{campaign_id}.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == [
        "name", "email", "groups", "status", "acknowledged_at", "version", "content_hash",
        "ip_address", "user_agent",
    ]  # fmt: skip
    by_email = {row["email"]: row for row in rows}
    assert len(rows) == 7
    assert by_email[evil.email]["name"] == '\'=HYPERLINK("http://x")'
    assert by_email[evil.email]["status"] == "pending"
    mine = by_email[viewer.email]
    assert mine["status"] == "acknowledged"
    assert mine["version"] == "1.0"
    assert mine["content_hash"] == policies.get_revision(policy.id, 1).content_hash
    assert mine["ip_address"] == "203.0.113.9"
    assert mine["user_agent"] == "'@SUM(1)"
    assert by_email[users["approver"].email]["groups"] == "Legal"


# ---------------------------------------------------------------- reminders


def test_reminders_are_sent_once_per_threshold_even_when_run_twice(db, users):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    viewer = users["viewer"]
    acks.acknowledge(
        _row_of(db, campaign_id, viewer).id, user=viewer, ip_address=None, user_agent=None
    )
    opened = db.session.get(AckCampaign, campaign_id).created_at

    def reminders():
        db.session.expire_all()
        return db.session.scalars(
            sa.select(Notification.user_id).where(Notification.subject.startswith("Reminder:"))
        ).all()

    assert acks.send_ack_reminders(now=opened + timedelta(days=6)) == 0
    assert acks.send_ack_reminders(now=opened + timedelta(days=7, hours=1)) == 5
    assert acks.send_ack_reminders(now=opened + timedelta(days=7, hours=2)) == 0
    assert len(reminders()) == 5
    assert viewer.id not in reminders()
    assert {row.reminder_level for row in _rows(db, campaign_id) if row.user_id != viewer.id} == {7}

    assert acks.send_ack_reminders(now=opened + timedelta(days=15)) == 5
    assert acks.send_ack_reminders(now=opened + timedelta(days=15)) == 0
    assert len(reminders()) == 10


def test_a_late_first_run_sends_only_the_latest_threshold(db, users):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    opened = db.session.get(AckCampaign, campaign_id).created_at

    assert acks.send_ack_reminders(now=opened + timedelta(days=20)) == 6
    assert acks.send_ack_reminders(now=opened + timedelta(days=21)) == 0
    assert {row.reminder_level for row in _rows(db, campaign_id)} == {14}


def test_closed_campaigns_send_no_reminders(db, users):
    policy = _published(users)
    campaign_id = _require(policy, users["owner"])
    opened = db.session.get(AckCampaign, campaign_id).created_at
    acks.update_settings(
        policy.id,
        acks.AckSettings(required=False, everyone=True, group_ids=[]),
        actor=users["owner"],
    )

    assert acks.send_ack_reminders(now=opened + timedelta(days=8)) == 0


# ---------------------------------------------------------------- demo


def test_seed_demo_has_a_campaign_in_progress_and_one_overdue(app, db):
    result = app.test_cli_runner().invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    campaigns = db.session.scalars(sa.select(AckCampaign).order_by(AckCampaign.id)).all()
    figures = [acks.campaign_figures(campaign) for campaign in campaigns]
    assert [(f.acknowledged, f.total, f.overdue) for f in figures] == [(4, 7, 0), (1, 2, 1)]
    assert [campaign.audience for campaign in campaigns] == ["Everyone", "Legal"]


def test_seed_demo_announces_the_due_date_its_campaigns_show(app, db, client):
    """One due date, computed once: the notification says what the campaign page says."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output

    assert client.login("admin@example.org", DEMO_PASSWORD).status_code == 302
    campaigns = db.session.scalars(sa.select(AckCampaign)).all()
    assert len(campaigns) == 2
    for campaign in campaigns:
        due = f"{campaign.due_on:%d %b %Y}"
        links = [f"/acknowledgements/{row.id}" for row in _rows(db, campaign.id)]
        bodies = db.session.scalars(
            sa.select(Notification.body).where(Notification.link.in_(links))
        ).all()
        assert bodies, campaign.id
        assert all(f"by {due}." in body for body in bodies), (due, set(bodies))
        page = client.get(f"/acknowledgements/campaigns/{campaign.id}").get_data(as_text=True)
        assert due in page


def test_widening_the_audience_adds_newcomers_to_the_open_campaign(db, users):
    policy = _published(users)
    legal, security = users["approver"].groups[0], users["security"].groups[0]
    campaign_id = _require(policy, users["owner"], everyone=False, group_ids=[legal.id])

    opened = _require(policy, users["owner"], everyone=False, group_ids=[legal.id, security.id])

    assert opened is None
    assert [c.id for c in _campaigns(db, policy.id)] == [campaign_id]
    assert {row.user_id for row in _rows(db, campaign_id)} == {
        users["approver"].id,
        users["security"].id,
    }
    assert db.session.get(AckCampaign, campaign_id).closed_at is None


def test_a_closed_campaign_page_stops_polling(db, users, as_role):
    policy = _published(users)
    first_id = _require(policy, users["owner"])
    _publish_new_version(policy.id, users, "major", "# Purpose\n\nA new rule.\n")
    client = as_role("admin")

    old = client.get(f"/acknowledgements/campaigns/{first_id}").get_data(as_text=True)
    latest = client.get(f"/policies/{policy.id}/acknowledgements").get_data(as_text=True)

    assert "Closed" in old and 'hx-trigger="every 3s"' not in old
    assert "Acknowledgements of v2.0" in latest and 'hx-trigger="every 3s"' in latest
    assert f"/acknowledgements/campaigns/{first_id}" in latest
