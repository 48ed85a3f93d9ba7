"""The import job: claim a run, clone, discover, publish, record. Idempotent by design."""
