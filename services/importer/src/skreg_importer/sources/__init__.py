"""Git sources: where skills are imported from, and how often."""
