"""/api/v1/workflows (filled in by its own change)."""

from __future__ import annotations
