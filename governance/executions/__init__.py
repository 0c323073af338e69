"""Execution pages: the filtered list and the live timeline of one execution."""
