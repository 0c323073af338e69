"""Administration: users and groups, and the audit trail's pages."""
