"""Import runs: the database row is the source of truth for every sync's state and results."""
