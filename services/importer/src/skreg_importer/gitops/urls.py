"""Which repository URLs the importer accepts, and how they are shown without secrets.

Accepted: `https://`, `ssh://`, scp-style `user@host:path` and `git://`; plus `file://`
and plain `http://` only when local targets are allowed. Everything else is refused
before git ever sees it: other transports (`ext::`, `fd::`), option look-alikes
(`--upload-pack=…`), control characters, and hosts or users starting with `-`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import psutil

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80, "git": 9418}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# `user@host:path` (scp-like): no scheme, and the part before the first colon has no slash.
_SCP = re.compile(
    r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[^@/:\s\[\]]+|\[[0-9a-fA-F:.]+\]):(?P<path>.*)$"
)
_HOST = re.compile(r"^[A-Za-z0-9._-]+$")
_URL_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")


class UrlRefused(ValueError):
    """A URL the importer will not hand to git, with a reason safe to show."""


@dataclass(frozen=True)
class RepoUrl:
    """A checked repository URL; `display` never carries credentials."""

    scheme: str  # https, http, ssh, scp, git, file
    host: str | None
    port: int | None
    path: str
    username: str | None
    password: str | None
    display: str  # the URL without password (and without user for http(s))
    git_url: str  # what is passed to git (never with a password in it)
    # The checked address git must connect to (set by `resolve_and_check`), so a second
    # DNS answer (rebinding) cannot send git somewhere the check never saw.
    pinned: str | None = None

    @property
    def effective_port(self) -> int:
        """The port git connects to (the scheme's default when the URL names none)."""
        return self.port or DEFAULT_PORTS.get(self.scheme, 22)

    @property
    def is_local_file(self) -> bool:
        """True for `file://` URLs."""
        return self.scheme == "file"

    @property
    def basename(self) -> str:
        """The repository's name: last path segment without `.git` (`repo` for none)."""
        tail = self.path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        tail = tail.removesuffix(".git")
        return tail or "repo"


def _check_text(url: str) -> None:
    if not url or len(url) > MAX_URL_LENGTH:
        raise UrlRefused("URL must be 1 to 2048 characters")
    if url.startswith("-"):
        raise UrlRefused("URL must not start with '-'")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UrlRefused("URL must not contain whitespace or control characters")
    if "::" in url.split("/", 1)[0] or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*::", url):
        raise UrlRefused("git remote helpers ('transport::address') are not allowed")


def _check_host(host: str | None) -> str:
    if not host:
        raise UrlRefused("URL has no host")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare.startswith("-") or not (_HOST.match(bare) or _is_ip(bare)):
        raise UrlRefused("URL host is not a valid host name")
    return bare.lower()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise UrlRefused(f"URL is malformed: {exc}") from None
    return parts


def parse_repo_url(url: str, *, allow_local: bool) -> RepoUrl:
    """Check `url` against the policy above; raises `UrlRefused` with a safe reason."""
    url = url.strip()
    _check_text(url)
    if "://" not in url:
        return _parse_scp(url)
    parts = _split(url)
    scheme = parts.scheme.lower()
    allowed = {"https", "ssh", "git"} | ({"file", "http"} if allow_local else set())
    if scheme not in allowed:
        shown = scheme if len(scheme) <= 20 else scheme[:20] + "…"
        extra = "" if allow_local else " (file:// and http:// only with IMPORTER_ALLOW_LOCAL)"
        raise UrlRefused(f"URL scheme '{shown}' is not allowed; use https, ssh or git{extra}")
    if scheme == "file":
        return _parse_file(parts)
    host = _check_host(parts.hostname)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if username and username.startswith("-"):
        raise UrlRefused("URL user name must not start with '-'")
    if parts.query or parts.fragment:
        raise UrlRefused("URL must not have a query or fragment")
    netloc_host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    # https/http credentials travel through a credential file, never the URL git sees.
    keep_user = scheme in ("ssh", "git") and username
    netloc = f"{parts.username}@{netloc_host}{port}" if keep_user else f"{netloc_host}{port}"
    clean = urlunsplit((scheme, netloc, parts.path, "", ""))
    return RepoUrl(
        scheme=scheme,
        host=host,
        port=parts.port,
        path=parts.path,
        username=username,
        password=password,
        display=clean,
        git_url=clean,
    )


def _parse_scp(url: str) -> RepoUrl:
    match = _SCP.match(url)
    if match is None:
        raise UrlRefused("URL must be https://, ssh://, git:// or scp-style user@host:path")
    host = _check_host(match["host"])
    user = match["user"]
    path = match["path"]
    if user and user.startswith("-"):
        raise UrlRefused("URL user name must not start with '-'")
    if not path or path.startswith("-"):
        raise UrlRefused("scp-style URL needs a path that does not start with '-'")
    if len(host) == 1 and re.match(r"[A-Za-z]", host):
        raise UrlRefused("'C:' style local paths are not repository URLs")
    text = f"{user + '@' if user else ''}{match['host']}:{path}"
    return RepoUrl(
        scheme="scp",
        host=host,
        port=None,
        path=path,
        username=user,
        password=None,
        display=text,
        git_url=text,
    )


def _parse_file(parts: SplitResult) -> RepoUrl:
    if parts.netloc not in ("", "localhost"):
        raise UrlRefused("file:// URLs must name a local path (file:///path)")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise UrlRefused("file:// URLs must have an absolute path")
    clean = f"file://{parts.path}"
    return RepoUrl(
        scheme="file",
        host=None,
        port=None,
        path=path,
        username=None,
        password=None,
        display=clean,
        git_url=clean,
    )


def _ip(address: str) -> IpAddress:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def host_addresses() -> frozenset[IpAddress]:
    """Every address assigned to this host's interfaces, read now (they change: DHCP, VPNs).

    A listener on the host's LAN address is as local as one on 127.0.0.1.
    """
    found: set[IpAddress] = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(_ip(entry.address))
    return frozenset(found)


def address_problem(
    address: str, *, allow_local: bool, own: Collection[IpAddress] | None = None
) -> str | None:
    """Why connecting to `address` is refused (None when it is fine).

    Link-local (cloud metadata at 169.254.169.254 lives there), multicast,
    unspecified and reserved targets are always refused; loopback and the host's own
    interface addresses (`own`, default: read now) only unless local targets are
    allowed. Private ranges are allowed: intranet Git servers live there.
    """
    ip = _ip(address)
    if ip.is_link_local:
        return "link-local addresses (cloud metadata endpoints) are not allowed"
    if ip.is_loopback:  # before "reserved": ::1 lies in the reserved ::/8
        return None if allow_local else "loopback addresses are not allowed"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "multicast, unspecified and reserved addresses are not allowed"
    if not allow_local and ip in (host_addresses() if own is None else own):
        return "addresses of this host are not allowed"
    return None


def check_addresses(addresses: Iterable[str], *, allow_local: bool) -> None:
    """Refuse when any resolved address is off limits (all must be fine, not just one)."""
    seen = False
    own = None if allow_local else host_addresses()
    for address in addresses:
        seen = True
        problem = address_problem(address, allow_local=allow_local, own=own)
        if problem is not None:
            raise UrlRefused(f"repository host resolves to a refused address: {problem}")
    if not seen:
        raise UrlRefused("repository host does not resolve")


def check_literal_host(repo: RepoUrl, *, allow_local: bool) -> None:
    """Refuse IP-literal and `localhost` hosts early (no DNS), e.g. at source creation."""
    if repo.host is None:
        return
    if _is_ip(repo.host):
        check_addresses([repo.host], allow_local=allow_local)
    elif repo.host in ("localhost", "localhost.localdomain") or repo.host.endswith(".localhost"):
        check_addresses(["127.0.0.1"], allow_local=allow_local)


def resolve_and_check(repo: RepoUrl, *, allow_local: bool) -> RepoUrl:
    """`repo` pinned to its host's checked address (blocking; run it in a thread).

    The host is resolved once; every address it resolves to must pass, and git is then
    made to connect to the first of them (skreg_importer.gitops.clone), not to whatever
    a later lookup of the same name would say.
    """
    if repo.host is None:
        if not allow_local:
            raise UrlRefused("local repositories are not allowed")
        return repo
    check_literal_host(repo, allow_local=allow_local)
    try:
        infos = socket.getaddrinfo(repo.host, repo.effective_port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"repository host {repo.host!r} does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    check_addresses(addresses, allow_local=allow_local)
    return dataclasses.replace(repo, pinned=str(_ip(addresses[0])))


def _redact_userinfo(match: re.Match[str]) -> str:
    # `ssh://git@host` names an account, not a secret; http(s) user parts are often tokens.
    scheme, userinfo = match["scheme"], match["userinfo"]
    if scheme.lower().startswith(("ssh", "git:")) and ":" not in userinfo:
        return match.group(0)
    return f"{scheme}***@"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with URL credentials and any of `secrets` replaced by `***`."""
    out = _URL_IN_TEXT.sub(_redact_userinfo, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, "***")
    return out
