"""Acknowledgement rules: who must read a policy, campaigns per major version, recording
"I have read and understood" once, the campaign's figures and roster, and reminders.

Every change is written with its audit event in the caller's transaction; the functions a
view calls commit, the ones the version event calls do not (they ride on the publication).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.audit.service import diff_fields, record_event
from governance.auth.models import Group, User
from governance.auth.service import enabled_user_ids
from governance.dbutil import rowcount
from governance.errors import Conflict, DomainError, NotAllowed, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.notifications.service import notify
from governance.policies import lifecycle, versions
from governance.policies.events import PolicyStatusChanged, PolicyVersionPublished
from governance.policies.models import MINOR, Policy, PolicyRevision
from governance.policies.service import READ_ALL_ROLES, can_manage, get_policy
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

EVERYONE = "Everyone"
USER_AGENT_MAX = 300
IP_MAX = 45


# ---------------------------------------------------------------- permissions


def can_view_campaigns(user: User, policy: Policy) -> bool:
    """Who sees who has and has not acknowledged: admins, owners, approvers, and the owner."""
    return user.has_role(*READ_ALL_ROLES) or policy.owner_id == user.id


# ---------------------------------------------------------------- settings


@dataclass
class AckSettings:
    """The acknowledgement settings of a policy, as plain values."""

    required: bool
    everyone: bool
    group_ids: list[int]


def current_settings(policy: Policy) -> AckSettings:
    return AckSettings(
        required=policy.ack_required,
        everyone=policy.ack_everyone,
        group_ids=[group.id for group in policy.ack_groups],
    )


def _settings_record(policy: Policy) -> dict[str, Any]:
    return {
        "ack_required": policy.ack_required,
        "ack_everyone": policy.ack_everyone,
        "ack_groups": [group.name for group in policy.ack_groups],
    }


def list_groups() -> list[Group]:
    return list(db.session.scalars(sa.select(Group).order_by(Group.name)))


def audience_label(policy: Policy) -> str:
    if policy.ack_everyone:
        return EVERYONE
    return ", ".join(group.name for group in policy.ack_groups)[:500]


def audience_user_ids(policy: Policy) -> list[int]:
    """The enabled people who must acknowledge this policy now."""
    if policy.ack_everyone:
        return list(
            db.session.scalars(
                sa.select(User.id).where(User.is_enabled.is_(True)).order_by(User.id)
            )
        )
    return enabled_user_ids((), [group.id for group in policy.ack_groups])


@unit_of_work()
def update_settings(
    policy_id: int, settings: AckSettings, *, actor: User, opened_at: datetime | None = None
) -> int | None:
    """Save who must acknowledge the policy (any status: it is not content); commits.

    Switched on while a version is live and no campaign is open: a campaign opens at once
    for that version (counted from `opened_at`, default now: the demo seeds campaigns asked
    days ago, and its due date must be the one the announcement states). Switched off: the
    open campaign closes. A wider audience while a campaign is open adds the newcomers to it.
    Returns the id of a campaign opened, if any.
    """
    policy = get_policy(policy_id)
    if not can_manage(actor, policy):
        raise NotAllowed("Only the policy's owner or an admin can change its acknowledgement.")
    group_ids = sorted(set(settings.group_ids))
    groups = list(db.session.scalars(sa.select(Group).where(Group.id.in_(group_ids))))
    if len(groups) != len(group_ids):
        raise DomainError("Choose groups from the list.", field="groups")
    everyone = settings.everyone
    if settings.required and not everyone and not groups:
        raise DomainError("Choose at least one group, or choose Everyone.", field="groups")
    before = _settings_record(policy)
    policy.ack_required = settings.required
    policy.ack_everyone = everyone
    policy.ack_groups = [] if everyone else sorted(groups, key=lambda group: group.name)
    changes = diff_fields(before, _settings_record(policy))
    if not changes:
        return None
    record_event(
        actor_id=actor.id,
        action="policy.ack_settings_changed",
        object_type="policy",
        object_id=policy.id,
        summary=f"“{policy.title}”: acknowledgement "
        + (f"required from {audience_label(policy)}" if policy.ack_required else "not required"),
        changes=changes,
    )
    opened = None
    campaign = open_campaign(policy.id)
    if not policy.ack_required:
        if campaign is not None:
            _close_campaign(campaign, actor_id=actor.id, why="acknowledgement switched off")
    elif campaign is not None:
        _add_to_roster(campaign, audience_user_ids(policy), actor_id=actor.id)
    elif policy.has_live_version:
        live = versions.latest_version(policy.id)
        if live is not None:
            opened = _open_campaign(policy, live, actor_id=actor.id, opened_at=opened_at).id
    return opened


# ---------------------------------------------------------------- campaigns


def open_campaign(policy_id: int) -> AckCampaign | None:
    return db.session.scalar(
        sa.select(AckCampaign)
        .where(AckCampaign.policy_id == policy_id, AckCampaign.closed_at.is_(None))
        .order_by(AckCampaign.created_at.desc(), AckCampaign.id.desc())
        .limit(1)
    )


def latest_campaign(policy_id: int) -> AckCampaign | None:
    return db.session.scalar(
        sa.select(AckCampaign)
        .where(AckCampaign.policy_id == policy_id)
        .order_by(AckCampaign.created_at.desc(), AckCampaign.id.desc())
        .limit(1)
    )


def list_campaigns(policy_id: int) -> list[AckCampaign]:
    return list(
        db.session.scalars(
            sa.select(AckCampaign)
            .where(AckCampaign.policy_id == policy_id)
            .order_by(AckCampaign.created_at.desc(), AckCampaign.id.desc())
        )
    )


def get_campaign(campaign_id: int) -> AckCampaign:
    return get_or_raise(AckCampaign, campaign_id, "No such acknowledgement campaign.")


def get_visible_campaign(campaign_id: int, user: User) -> AckCampaign:
    """The campaign if this user may see its roster; otherwise 404, as for an unknown one."""
    campaign = get_campaign(campaign_id)
    if not can_view_campaigns(user, campaign.policy):
        raise NotFound("No such acknowledgement campaign.")
    return campaign


def due_date(opened_at: datetime) -> date:
    """The one computation of a campaign's due date: ACK_DUE_DAYS after it opens."""
    return opened_at.date() + timedelta(days=int(current_app.config.get("ACK_DUE_DAYS", 14)))


def _open_campaign(
    policy: Policy,
    version: PolicyRevision,
    *,
    actor_id: int | None,
    opened_at: datetime | None = None,
) -> AckCampaign:
    """Close the open campaign, open one for `version` with the audience as its roster and
    tell the audience (no commit). The due date is computed once, here, and stored: every
    page, notification and reminder reads `campaign.due_on`."""
    previous = open_campaign(policy.id)
    if previous is not None:
        _close_campaign(previous, actor_id=actor_id, why=f"version {version.version_label}")
    now = opened_at or utcnow()
    campaign = AckCampaign(
        policy_id=policy.id,
        revision_id=version.id,
        version_label=version.version_label,
        audience=audience_label(policy),
        created_at=now,
        due_on=due_date(now),
    )
    db.session.add(campaign)
    db.session.flush()
    people = audience_user_ids(policy)
    db.session.add_all(
        Acknowledgement(campaign_id=campaign.id, user_id=user_id, created_at=now)
        for user_id in people
    )
    db.session.flush()
    record_event(
        actor_id=actor_id,
        action="acknowledgement.campaign_opened",
        object_type="policy",
        object_id=policy.id,
        summary=f"“{policy.title}” v{version.version_label}: acknowledgement asked of "
        f"{campaign.audience} ({len(people)} people), due {campaign.due_on:%d %b %Y}",
        changes={
            "campaign_id": {"before": None, "after": campaign.id},
            "version_label": {"before": None, "after": version.version_label},
            "roster_size": {"before": None, "after": len(people)},
        },
    )
    _announce(campaign, people)
    return campaign


def _announce(campaign: AckCampaign, user_ids: list[int]) -> None:
    if not user_ids:
        return
    rows = dict(
        db.session.execute(
            sa.select(Acknowledgement.user_id, Acknowledgement.id).where(
                Acknowledgement.campaign_id == campaign.id,
                Acknowledgement.user_id.in_(user_ids),
            )
        ).all()
    )
    title = campaign.policy.title
    for user_id in user_ids:
        notify(
            [user_id],
            subject=f"Please read and acknowledge “{title}” (v{campaign.version_label})",
            body=f"Please read the policy and confirm you have understood it "
            f"by {campaign.due_on:%d %b %Y}.",
            link=f"/acknowledgements/{rows[user_id]}",
            dedupe_key=f"ack-request-{rows[user_id]}",
        )


def _close_campaign(campaign: AckCampaign, *, actor_id: int | None, why: str) -> None:
    changed = db.session.execute(
        sa.update(AckCampaign)
        .where(AckCampaign.id == campaign.id, AckCampaign.closed_at.is_(None))
        .values(closed_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(changed):
        record_event(
            actor_id=actor_id,
            action="acknowledgement.campaign_closed",
            object_type="policy",
            object_id=campaign.policy_id,
            summary=f"Acknowledgement of v{campaign.version_label} closed ({why})",
            changes={"campaign_id": {"before": campaign.id, "after": None}},
        )


def _add_to_roster(campaign: AckCampaign, user_ids: list[int], *, actor_id: int) -> None:
    present = set(
        db.session.scalars(
            sa.select(Acknowledgement.user_id).where(Acknowledgement.campaign_id == campaign.id)
        )
    )
    newcomers = [user_id for user_id in user_ids if user_id not in present]
    if not newcomers:
        return
    db.session.add_all(
        Acknowledgement(campaign_id=campaign.id, user_id=user_id) for user_id in newcomers
    )
    db.session.flush()
    record_event(
        actor_id=actor_id,
        action="acknowledgement.roster_extended",
        object_type="policy",
        object_id=campaign.policy_id,
        summary=f"{len(newcomers)} people added to the acknowledgement of "
        f"v{campaign.version_label}",
        changes={"added_user_ids": {"before": None, "after": newcomers}},
    )
    _announce(campaign, newcomers)


def on_version_published(event: PolicyVersionPublished) -> None:
    """A major version (or the first) of a policy to acknowledge asks its audience again; a
    minor one opens nothing: the open campaign goes on and records whatever version is live."""
    policy = db.session.get(Policy, event.policy_id)
    if policy is None or not policy.ack_required:
        return
    if event.change_kind == MINOR and open_campaign(policy.id) is not None:
        return
    version = db.session.get_one(PolicyRevision, event.revision_id)
    _open_campaign(policy, version, actor_id=event.actor_id)


def on_status_changed(event: PolicyStatusChanged) -> None:
    """A retired policy is no longer to be read: its open campaign closes."""
    if event.new_status != lifecycle.RETIRED:
        return
    campaign = open_campaign(event.policy_id)
    if campaign is not None:
        _close_campaign(campaign, actor_id=event.actor_id, why="policy retired")


# ---------------------------------------------------------------- acknowledging


def _open_rows_statement(user_id: int) -> sa.Select:
    return (
        sa.select(Acknowledgement)
        .join(AckCampaign, AckCampaign.id == Acknowledgement.campaign_id)
        .where(
            Acknowledgement.user_id == user_id,
            Acknowledgement.acknowledged_at.is_(None),
            AckCampaign.closed_at.is_(None),
        )
    )


def open_count(user_id: int) -> int:
    """How many policies wait for this person's acknowledgement (the navigation badge)."""
    statement = _open_rows_statement(user_id).with_only_columns(sa.func.count())
    return db.session.scalar(statement) or 0


def my_open_rows(user_id: int) -> list[Acknowledgement]:
    """This person's open requests, oldest first."""
    return list(
        db.session.scalars(
            _open_rows_statement(user_id)
            .options(so.contains_eager(Acknowledgement.campaign).joinedload(AckCampaign.policy))
            .order_by(AckCampaign.created_at, Acknowledgement.id)
        )
    )


def my_recent_acknowledgements(user_id: int, limit: int = 20) -> list[Acknowledgement]:
    return list(
        db.session.scalars(
            sa.select(Acknowledgement)
            .where(Acknowledgement.user_id == user_id, Acknowledgement.acknowledged_at.is_not(None))
            .options(so.joinedload(Acknowledgement.campaign).joinedload(AckCampaign.policy))
            .order_by(Acknowledgement.acknowledged_at.desc())
            .limit(limit)
        )
    )


def my_row_for_policy(user_id: int, policy_id: int) -> Acknowledgement | None:
    """This person's row in the policy's latest campaign, if they are in its roster."""
    campaign = latest_campaign(policy_id)
    if campaign is None:
        return None
    return db.session.scalar(
        sa.select(Acknowledgement).where(
            Acknowledgement.campaign_id == campaign.id, Acknowledgement.user_id == user_id
        )
    )


def get_my_row(ack_id: int, user: User) -> Acknowledgement:
    """Only the person themself sees or acknowledges their row: 404 for anyone else."""
    row = db.session.get(Acknowledgement, ack_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such acknowledgement request.")
    return row


def is_overdue(campaign: AckCampaign, today: date | None = None) -> bool:
    return campaign.closed_at is None and (today or utcnow().date()) > campaign.due_on


@unit_of_work()
def acknowledge(ack_id: int, *, user: User, ip_address: str | None, user_agent: str | None) -> bool:
    """Record "I have read and understood" for the live version; commits.

    Returns False when it was already recorded (a double click records once: the UPDATE
    only matches a row not yet acknowledged).
    """
    row = get_my_row(ack_id, user)
    campaign = row.campaign
    if campaign.closed_at is not None:
        raise Conflict(
            "This request was closed (a newer version was published or the policy was "
            "retired). See your list of policies to acknowledge."
        )
    version = versions.live_version(campaign.policy)
    if version is None:
        raise Conflict("This policy has no live version to acknowledge.")
    now = utcnow()
    changed = rowcount(
        db.session.execute(
            sa.update(Acknowledgement)
            .where(Acknowledgement.id == row.id, Acknowledgement.acknowledged_at.is_(None))
            .values(
                acknowledged_at=now,
                version_label=version.version_label,
                content_hash=version.content_hash,
                ip_address=(ip_address or "")[:IP_MAX] or None,
                user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if changed != 1:
        return False
    record_event(
        actor_id=user.id,
        action="acknowledgement.recorded",
        object_type="policy",
        object_id=campaign.policy_id,
        summary=f"{user.name} acknowledged “{campaign.policy.title}” v{version.version_label}",
        changes={
            "acknowledgement_id": {"before": None, "after": row.id},
            "version_label": {"before": None, "after": version.version_label},
            "content_hash": {"before": None, "after": version.content_hash},
        },
    )
    return True


# ---------------------------------------------------------------- figures and roster


@dataclass(frozen=True)
class CampaignFigures:
    total: int
    acknowledged: int
    overdue: int

    @property
    def pending(self) -> int:
        return self.total - self.acknowledged

    @property
    def percent(self) -> int:
        """Rounded down, so 100% means everyone."""
        return self.acknowledged * 100 // self.total if self.total else 0

    def key(self) -> str:
        """Changes whenever anything the campaign page shows could change."""
        return f"{self.total}-{self.acknowledged}-{self.overdue}"


def campaign_figures(campaign: AckCampaign, today: date | None = None) -> CampaignFigures:
    total, acknowledged = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(Acknowledgement.acknowledged_at),
        ).where(Acknowledgement.campaign_id == campaign.id)
    ).one()
    overdue = total - acknowledged if is_overdue(campaign, today) else 0
    return CampaignFigures(total=total, acknowledged=acknowledged, overdue=overdue)


def roster(campaign_id: int) -> list[Acknowledgement]:
    """Everyone asked, by name, with their groups loaded (the page and the CSV)."""
    return list(
        db.session.scalars(
            sa.select(Acknowledgement)
            .join(User, User.id == Acknowledgement.user_id)
            .where(Acknowledgement.campaign_id == campaign_id)
            .options(so.contains_eager(Acknowledgement.user).selectinload(User.groups))
            .order_by(User.name, User.id)
        )
    )


def row_status(row: Acknowledgement, campaign: AckCampaign, today: date | None = None) -> str:
    if row.acknowledged_at is not None:
        return "acknowledged"
    return "overdue" if is_overdue(campaign, today) else "pending"


# ---------------------------------------------------------------- reminders


def send_ack_reminders(now: datetime | None = None) -> int:
    """Remind those who have not acknowledged, once per threshold (ACK_REMINDER_DAYS).

    For each threshold, largest first, the rows of open campaigns older than it whose
    reminder_level is below it are claimed with a conditional UPDATE; only the transaction
    that moved the level notifies, so a second run (or two schedulers at once) sends
    nothing twice. Largest first: a row already past 14 days gets the 14-day reminder and
    not the 7-day one too. Returns how many reminders were sent.
    """
    now = now or utcnow()
    thresholds = sorted(current_app.config.get("ACK_REMINDER_DAYS", (7, 14)), reverse=True)
    sent = 0
    for threshold in thresholds:
        candidates = db.session.execute(
            sa.select(Acknowledgement.id, Acknowledgement.user_id, AckCampaign.id)
            .join(AckCampaign, AckCampaign.id == Acknowledgement.campaign_id)
            .where(
                AckCampaign.closed_at.is_(None),
                AckCampaign.created_at <= now - timedelta(days=threshold),
                Acknowledgement.acknowledged_at.is_(None),
                Acknowledgement.reminder_level < threshold,
            )
            .order_by(Acknowledgement.id)
        ).all()
        for ack_id, user_id, campaign_id in candidates:
            with unit_of_work():
                won = rowcount(
                    db.session.execute(
                        sa.update(Acknowledgement)
                        .where(
                            Acknowledgement.id == ack_id,
                            Acknowledgement.acknowledged_at.is_(None),
                            Acknowledgement.reminder_level < threshold,
                        )
                        .values(reminder_level=threshold)
                        .execution_options(synchronize_session=False)
                    )
                )
                if won != 1:
                    continue  # another run reminded them first
                campaign = db.session.get_one(AckCampaign, campaign_id)
                notify(
                    [user_id],
                    subject=f"Reminder: please acknowledge “{campaign.policy.title}” "
                    f"(v{campaign.version_label})",
                    body=f"You were asked {threshold} days ago to read this policy and confirm "
                    f"you have understood it; it is due by {campaign.due_on:%d %b %Y}.",
                    link=f"/acknowledgements/{ack_id}",
                    dedupe_key=f"ack-reminder-{ack_id}-{threshold}",
                )
            sent += 1
    return sent
