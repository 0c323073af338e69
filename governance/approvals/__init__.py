"""Approval requests and the one decision service that records decisions on them."""
