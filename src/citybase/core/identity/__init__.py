"""Identity: organisations, users, roles, sessions, API tokens and the one permission check."""
