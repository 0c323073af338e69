"""/api/v1/executions (filled in by its own change)."""

from __future__ import annotations
