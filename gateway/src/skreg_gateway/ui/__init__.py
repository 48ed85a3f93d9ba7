"""The web UI: server-rendered pages that talk to the services only through the public API."""
