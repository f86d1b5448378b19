"""Users, roles, login (web session) and API tokens."""
