"""/api/v1/queues (filled in by its own change)."""

from __future__ import annotations
