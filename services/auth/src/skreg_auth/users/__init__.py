"""Users: registration, roles, disable/enable, the seed admin."""
