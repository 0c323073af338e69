"""Workflow definitions, their immutable versions, and the designer."""
