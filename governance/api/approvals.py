"""/api/v1/approvals (filled in by its own change)."""

from __future__ import annotations
