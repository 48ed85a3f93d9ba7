"""Small checks on untrusted strings before they reach the database.

PostgreSQL refuses NUL in text, so such input must be turned away as a 4xx up front,
never discovered as a driver error (a 500) halfway through a request.
"""

from __future__ import annotations


def is_clean(value: str, max_length: int) -> bool:
    """Short enough and free of control characters."""
    return len(value) <= max_length and value.isprintable()


def printable(value: str, max_length: int) -> str:
    """`value` cut to `max_length` with control characters removed (for logging what was sent)."""
    return "".join(ch for ch in value[: max_length * 2] if ch.isprintable())[:max_length]
