"""`python -m tests.fuzz.fenced_gateway`: the all-in-one registry, unable to reach off the host.

The fuzzer creates import sources with whatever repository URLs it invents and asks
for syncs, and the in-process importer resolves and clones them. Here every name
that is not loopback fails to resolve (as an unknown host does), so the importer's
address guard refuses those runs before git starts: a fuzzing run sends nothing
beyond 127.0.0.1, not even a DNS query.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from skreg_gateway.__main__ import main

_resolve = socket.getaddrinfo
LOCAL_NAMES = ("localhost", "localhost.localdomain")


def is_loopback(host: object) -> bool:
    """True for `None` (a wildcard bind), loopback literals and the localhost names."""
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower().rstrip(".") in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """`socket.getaddrinfo`, failing like an unknown name for anything off the host."""
    if not is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, "fuzzing run: only loopback resolves")
    return _resolve(host, *args, **kwargs)


if __name__ == "__main__":
    socket.getaddrinfo = loopback_only_getaddrinfo
    main()
