"""The gateway: web UI and the all-in-one process."""
