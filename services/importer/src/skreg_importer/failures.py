"""The one base of every failure that ends an import attempt (STYLE: one exception base).

The runner treats them all alike: a `transient` failure (the network, a busy catalog,
a timed-out clone) puts the run back in the queue with backoff until
IMPORTER_MAX_ATTEMPTS; any other fails the run at once with `message` as its reason.
"""

from __future__ import annotations


class JobFailed(Exception):
    """This attempt failed; `message` is shown to admins (redacted of secrets first)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        self.message = message
        self.transient = transient
        super().__init__(message)
