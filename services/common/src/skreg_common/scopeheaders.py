"""Request headers read straight from the ASGI scope, for the few every hot read needs.

`request.headers` builds Litestar's case-insensitive multidict of every header the
first time a request asks for one: on a version page at 10k skills that build was
4 % of the catalog's CPU (py-spy), to read `Authorization`, `X-API-Key` and
`If-None-Match`. ASGI servers hand header names over in lower case, as the forwarded
and request-id middlewares already rely on.
"""

from __future__ import annotations

from typing import Any


def scope_header(scope: Any, name: bytes) -> str | None:
    """The first value of header `name` (lower case), decoded as Latin-1, or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class ScopeHeaders:
    """`get(name)` over an ASGI scope's headers (first value, as `request.headers` gives)."""

    def __init__(self, scope: Any) -> None:
        self._scope = scope

    def get(self, name: str) -> str | None:
        """The first value of header `name`, or None."""
        return scope_header(self._scope, name.lower().encode("latin-1"))
