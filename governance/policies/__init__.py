"""Governance policies: their lifecycle, revisions and pages."""
