"""Administration of users and groups."""
