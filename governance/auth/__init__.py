"""Users, roles, groups, sessions and login."""
