"""Who the client is: the socket peer, what a trusted proxy says, or what our own UI vouches for.

One setting, `TRUSTED_PROXIES`, means the same in every service: the proxies in front of
this process. Only when the socket peer is one of them are `X-Forwarded-For` and
`X-Forwarded-Proto` believed, and the client is then the right-most `X-Forwarded-For`
entry that is not itself a trusted proxy (entries further left are whatever the client
chose to send). Anyone else's forwarded headers are ignored.

The web UI calls the services on a browser's behalf, so to auth every UI request comes
from the gateway. The UI therefore states the browser's address in its own header,
signed with the service secret (`sign_client_address`); a service believes that header
only when the signature checks out and is fresh, whoever sends it — except while the
service secret is the dev default (printed in the source, so anyone could sign): then
only from an in-process call of the all-in-one process.

`forwarded_middleware` applies both once per request and rewrites the ASGI scope's
`client` (and `scheme`), so route code simply reads `request.client`. The socket peer
stays available as `socket_peer(connection)`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send

from skreg_common.settings import DEV_SERVICE_SECRET, ServiceSettings

CLIENT_ADDRESS_HEADER = "x-skreg-client-address"
# A signed address is good for this long: enough for clock skew between hosts, short
# enough that a captured header is useless soon after.
CLIENT_ADDRESS_MAX_AGE_S = 120
# Scope keys set here: the socket peer, and the marker of an in-process (all-in-one) call.
PEER_KEY = "skreg.peer"
IN_PROCESS_EXTENSION = "skreg.in_process"
TRUST_ALL = "*"
# A longer chain than this is not a real proxy chain; only its right end is read.
MAX_HOPS = 32

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str | None) -> IpAddress | None:
    """`text` as an IP address (IPv4-mapped IPv6 unwrapped), or None when it is not one."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


IPV6_BUCKET_PREFIX = 64  # one IPv6 host owns a /64: counting its addresses apart is no limit


def address_bucket(address: str) -> str:
    """What a per-address budget or count names as one client: an IPv4 address (IPv4-
    mapped ones unwrapped), an IPv6 address's /64, anything else (a peer name) as given."""
    parsed = parse_ip(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_BUCKET_PREFIX), strict=False))
    return str(parsed)


def _hop_address(hop: str) -> IpAddress | None:
    """One X-Forwarded-For entry: a bare address, `v4:port` or `[v6]:port`."""
    hop = hop.strip()
    if hop.startswith("["):
        return parse_ip(hop[1 : hop.find("]")] if "]" in hop else "")
    if hop.count(":") == 1:
        hop = hop.split(":", 1)[0]
    return parse_ip(hop)


class ProxyTrust:
    """The parsed `TRUSTED_PROXIES`: addresses, networks, `*`, and non-IP peer names.

    Non-IP names match a peer literally (e.g. a Unix socket path, or the test client's
    made-up host name); a malformed network is a configuration error at start-up.
    """

    def __init__(self, spec: str) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.trust_all = TRUST_ALL in items
        self.networks: list[IpNetwork] = []
        self.names: set[str] = set()
        for item in items:
            if item == TRUST_ALL:
                continue
            if parse_ip(item.split("/", 1)[0]) is None and "/" not in item:
                self.names.add(item)
                continue
            self.networks.append(ipaddress.ip_network(item, strict=False))

    def trusts(self, host: str | None) -> bool:
        """Whether `host` (a peer or an X-Forwarded-For entry) is one of our proxies."""
        if host is None:
            return False
        if self.trust_all or host in self.names:
            return True
        address = parse_ip(host)
        return address is not None and any(address in network for network in self.networks)

    def client_behind(self, peer: str, forwarded_for: str) -> str:
        """The client a trusted `peer` forwarded: right-most entry that is no proxy of ours."""
        hops = [hop for hop in forwarded_for.split(",") if hop.strip()][-MAX_HOPS:]
        client = peer
        for hop in reversed(hops):
            address = _hop_address(hop)
            if address is None:  # garbage where an address belongs: keep the last proxy
                return client
            client = str(address)
            if not self.trusts(client):
                return client
        return client


def _mac(address: str, stamp: int, secret: str) -> str:
    key = hashlib.sha256(b"skreg client address\0" + secret.encode()).digest()
    return hmac.new(key, f"{address} {stamp}".encode(), hashlib.sha256).hexdigest()


def sign_client_address(address: str, secret: str, now: float | None = None) -> str:
    """The header value by which a service vouches that it acts for a client at `address`."""
    stamp = int(time.time() if now is None else now)
    return f"{address} {stamp} {_mac(address, stamp, secret)}"


def verify_client_address(value: str, secret: str, now: float | None = None) -> str | None:
    """The address in a signed header value, or None when forged, stale or malformed."""
    parts = value.split(" ")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    address, stamp = parse_ip(parts[0]), int(parts[1])
    if address is None:
        return None
    age = (time.time() if now is None else now) - stamp
    if abs(age) > CLIENT_ADDRESS_MAX_AGE_S:
        return None
    if not hmac.compare_digest(_mac(parts[0], stamp, secret), parts[2]):
        return None
    return str(address)


def _header_values(scope: Scope) -> dict[bytes, list[bytes]]:
    wanted = (b"x-forwarded-for", b"x-forwarded-proto", CLIENT_ADDRESS_HEADER.encode())
    found: dict[bytes, list[bytes]] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            found.setdefault(name, []).append(value)
    return found


def _resolve(scope: Scope, trust: ProxyTrust, secret: str | None) -> None:
    client = scope.get("client")
    peer = client[0] if client else None
    port = client[1] if client else 0
    scope.setdefault("state", {})[PEER_KEY] = peer
    headers = _header_values(scope)
    resolved = peer
    if peer is not None and trust.trusts(peer):
        forwarded_for = b", ".join(headers.get(b"x-forwarded-for", [])).decode("latin-1")
        if forwarded_for:
            resolved = trust.client_behind(peer, forwarded_for[:4096])
        proto = headers.get(b"x-forwarded-proto", [b""])[0].decode("latin-1")
        # A chain of proxies appends; the first entry is what the client itself used.
        first = proto.split(",")[0].strip().lower()
        if first in ("http", "https"):
            scope["scheme"] = first
    signed = headers.get(CLIENT_ADDRESS_HEADER.encode())
    key = DEV_SERVICE_SECRET if secret is None and is_in_process(scope) else secret
    if signed and key is not None:
        vouched = verify_client_address(signed[0].decode("latin-1"), key)
        if vouched is not None:
            resolved = vouched
    if resolved is not None:
        scope["client"] = (resolved, port)


def forwarded_middleware(settings: ServiceSettings) -> Any:
    """ASGI middleware resolving the client's address and scheme (see the module docstring)."""
    trust = ProxyTrust(settings.trusted_proxies)
    # None: the dev default, which vouches only for in-process calls.
    secret = None if settings.service_secret == DEV_SERVICE_SECRET else settings.service_secret

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in ("http", "websocket"):
                _resolve(scope, trust, secret)
            await app(scope, receive, send)

        return middleware

    return factory


def socket_peer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The address this process's socket (or in-process transport) was talked to from."""
    state = connection.scope.get("state", {})
    if PEER_KEY in state:
        peer = state[PEER_KEY]
        return peer if isinstance(peer, str) else None
    return connection.client.host if connection.client else None


def is_in_process(scope: Scope) -> bool:
    """True for a call made inside this process (the all-in-one's in-process transport)."""
    extensions = scope.get("extensions") or {}
    return bool(extensions.get(IN_PROCESS_EXTENSION))


def mark_in_process(scope: Scope) -> None:
    """Mark `scope` as made inside this process (only our own transport calls this)."""
    extensions: dict[str, Any] = dict(scope.get("extensions") or {})
    extensions[IN_PROCESS_EXTENSION] = True
    scope["extensions"] = extensions
