"""The importer service."""
