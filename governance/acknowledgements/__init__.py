"""Acknowledgement campaigns: who must read a policy version, and who has."""

from __future__ import annotations


def init_app() -> None:
    """Open and close campaigns as versions are published and policies retired."""
    from governance.acknowledgements import service

    service.subscribe_to_policy_events()
