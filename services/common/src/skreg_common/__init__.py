"""The small kit every Skills Registry service shares."""
