"""Acknowledgement campaigns: who must read a policy version, and who has."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Open and close campaigns as versions are published and policies retired; the
    acknowledgement kind of notification."""
    from governance import events
    from governance.acknowledgements import service
    from governance.acknowledgements.notification_kind import ACKNOWLEDGEMENT_NOTIFICATIONS
    from governance.notifications.kinds import register_kind
    from governance.policies.events import PolicyStatusChanged, PolicyVersionPublished

    events.subscribe(PolicyVersionPublished, service.on_version_published)
    events.subscribe(PolicyStatusChanged, service.on_status_changed)
    register_kind(ACKNOWLEDGEMENT_NOTIFICATIONS)
