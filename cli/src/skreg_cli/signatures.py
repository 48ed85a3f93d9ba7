"""Checking the registry's signature on a version before anything is installed.

The registry signs every version it serves (an in-toto statement in a DSSE envelope,
Ed25519; `skreg_proto.attestation`) and publishes its keys at
`/.well-known/skills-registry/keys.json`. Before a bundle is written anywhere, skreg
checks that the envelope's signature verifies with a key of that registry and that
the statement names exactly `namespace/name@version` with the digest of the bundle
it downloaded. The DSSE encoding and the Ed25519 check are securesystemslib's.

Trust is on first use, per registry origin: the first time skreg meets a registry's
keys it pins them in `trusted-keys.json` in its config directory. A later key that is
not pinned (the registry rotated, or someone stands in for it) is accepted with a
warning naming it, and pinned. A registry that once had pinned keys and now serves no
signature is refused: that is how a stripped signature would look. A registry that
has never published keys (an older release) installs with a warning only.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey
from skreg_proto.attestation import (
    KEYS_PATH,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    subject_name,
)

from skreg_cli.client import ApiClient, decode
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output
from skreg_cli.registry import skill_path

TRUST_FILE = "trusted-keys.json"
MAX_ENVELOPE_BYTES = 1024 * 1024


class KeyView(msgspec.Struct, kw_only=True):
    """One published key (securesystemslib's shape)."""

    keyid: str
    keytype: str
    scheme: str
    keyval: dict[str, str]
    status: str = "active"


class KeySetView(msgspec.Struct, kw_only=True):
    """`/.well-known/skills-registry/keys.json`."""

    keys: list[KeyView] = msgspec.field(default_factory=list)


class PinnedKey(msgspec.Struct, kw_only=True):
    """A key skreg trusts for one registry origin, and since when."""

    public: str  # ed25519, hex
    pinned_at: str


class TrustStore(msgspec.Struct, kw_only=True):
    """`trusted-keys.json`: origin -> keyid -> pinned key."""

    origins: dict[str, dict[str, PinnedKey]] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Signed:
    """A version whose signature verified: by which key, over which digest."""

    keyid: str
    digest: str


def origin_of(url: str) -> str:
    """`scheme://host[:port]`: keys are pinned per origin, whatever the path prefix."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _integrity(message: str, hint: str) -> CliError:
    return CliError(message, hint=hint, code=ExitCode.INTEGRITY)


def _ed25519_key(view: KeyView) -> SSlibKey:
    """The key as securesystemslib sees it, its key id recomputed (a registry cannot
    pass off one key under another key's id)."""
    if (view.keytype, view.scheme) != ("ed25519", "ed25519"):
        raise ValueError(f"unsupported key type {view.keytype}/{view.scheme}")
    raw = bytes.fromhex(view.keyval.get("public", ""))
    key = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(raw))
    if key.keyid != view.keyid:
        raise ValueError(f"key id {view.keyid} does not match its key")
    return key


class SignatureChecker:
    """Verifies versions' attestations for one `skreg` run (keys fetched once per registry)."""

    def __init__(self, config_dir: Path, out: Output) -> None:
        self.path = config_dir / TRUST_FILE
        self.out = out
        self._keys: dict[str, dict[str, SSlibKey] | None] = {}

    # -- the registry's keys ---------------------------------------------------------

    def registry_keys(self, client: ApiClient) -> dict[str, SSlibKey] | None:
        """The registry's published keys by id; None when it publishes none (unsigned)."""
        if client.base_url not in self._keys:
            self._keys[client.base_url] = self._fetch_keys(client)
        return self._keys[client.base_url]

    def _fetch_keys(self, client: ApiClient) -> dict[str, SSlibKey] | None:
        base = client.base_url
        try:
            response = client.request("GET", KEYS_PATH, not_found="signing keys")
        except CliError as exc:
            if exc.code is ExitCode.NOT_FOUND:
                return None
            raise
        view = decode(response, KeySetView)
        keys: dict[str, SSlibKey] = {}
        for item in view.keys:
            try:
                keys[item.keyid] = _ed25519_key(item)
            except ValueError as exc:
                raise _integrity(
                    f"{base} publishes an unusable signing key: {exc}",
                    "the registry's key list is broken or forged; nothing was installed",
                ) from exc
        return keys

    # -- pinning -----------------------------------------------------------------------

    def _load(self) -> TrustStore:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=TrustStore)
        except FileNotFoundError:
            return TrustStore()
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise CliError(
                f"cannot read {self.path}: {exc}",
                hint="fix it, or delete it to trust each registry's keys again on first use",
            ) from exc

    def _save(self, store: TrustStore) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}")
        data = msgspec.json.format(msgspec.json.encode(store, order="sorted"), indent=2)
        temp.write_bytes(data + b"\n")
        os.replace(temp, self.path)

    def pinned(self, base_url: str) -> dict[str, PinnedKey]:
        """The keys pinned for the registry's origin (empty: never seen signing)."""
        return self._load().origins.get(origin_of(base_url), {})

    def _pin(self, base_url: str, keyid: str, key: SSlibKey) -> None:
        """Trust `key` for the origin from now on; warn when the origin had other keys."""
        store = self._load()
        origin = origin_of(base_url)
        known = store.origins.setdefault(origin, {})
        pinned = known.get(keyid)
        public = str(key.keyval["public"])
        if pinned is not None:
            if pinned.public != public:  # cannot happen with honest key ids: refuse loudly
                raise _integrity(
                    f"{origin} presents key {keyid} with different key material than pinned",
                    f"someone may stand in for the registry; check {self.path}",
                )
            return
        if known:
            self.out.warn(
                f"{origin} signs with key {keyid}, which skreg has not seen before "
                f"(pinned: {', '.join(sorted(known))}); trusting it from now on. "
                "If the registry's admins did not rotate their key, stop and ask them."
            )
        else:
            self.out.note(f"Trusting {origin}'s signing key {keyid} (first use; pinned)")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        known[keyid] = PinnedKey(public=public, pinned_at=now)
        self._save(store)

    # -- one version -------------------------------------------------------------------

    def check(
        self, client: ApiClient, namespace: str, name: str, version: str, digest: str
    ) -> Signed | None:
        """Verify the version's attestation against `digest` (the downloaded bundle's).

        None when the registry signs nothing and never did for this origin (a warning
        says so); a `CliError` (INTEGRITY) for anything that does not verify.
        """
        label = f"{namespace}/{name}@{version}"
        keys = self.registry_keys(client)
        if keys is None:
            if self.pinned(client.base_url):
                raise _integrity(
                    f"{label}: {client.base_url} no longer publishes signing keys, "
                    "but skreg has seen it sign before",
                    "a stripped signature looks like this; nothing was installed",
                )
            self.out.warn(f"{label}: {client.base_url} does not sign its skills; not verified")
            return None
        envelope = self._envelope(client, namespace, name, version, label)
        keyid = self._verify(client, envelope, keys, label)
        _check_statement(envelope, namespace, name, version, digest, label)
        self._pin(client.base_url, keyid, keys[keyid])
        return Signed(keyid=keyid, digest=digest)

    def _envelope(
        self, client: ApiClient, namespace: str, name: str, version: str, label: str
    ) -> Envelope:
        path = skill_path(namespace, name, "versions", version, "attestation")
        try:
            response = client.request("GET", path, not_found=f"the attestation of {label}")
        except CliError as exc:
            if exc.code is not ExitCode.NOT_FOUND:
                raise
            raise _integrity(
                f"{label}: the registry serves no signature for it",
                "the registry signs every version it serves; nothing was installed",
            ) from exc
        if len(response.content) > MAX_ENVELOPE_BYTES:
            raise _integrity(f"{label}: the attestation is implausibly large", "tell its admins")
        try:
            return Envelope.from_dict(msgspec.json.decode(response.content))
        except (msgspec.DecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _integrity(
                f"{label}: the attestation is not a DSSE envelope ({exc})",
                "the registry is misbehaving; nothing was installed",
            ) from exc

    def _verify(
        self, client: ApiClient, envelope: Envelope, keys: dict[str, SSlibKey], label: str
    ) -> str:
        unknown = [keyid for keyid in envelope.signatures if keyid not in keys]
        if unknown and not any(keyid in keys for keyid in envelope.signatures):
            raise _integrity(
                f"{label}: signed by unknown key {', '.join(unknown)}, which "
                f"{client.base_url} does not publish",
                f"the registry's keys are at {client.base_url}{KEYS_PATH}; nothing was installed",
            )
        try:
            verified = envelope.verify(list(keys.values()), 1)
        except VerificationError as exc:
            raise _integrity(
                f"{label}: the signature does not verify with the registry's keys",
                "the attestation was altered or forged; nothing was installed",
            ) from exc
        return sorted(verified)[0]


def _check_statement(
    envelope: Envelope, namespace: str, name: str, version: str, digest: str, label: str
) -> None:
    """The signed statement is about exactly this version and this bundle digest."""
    try:
        statement: Any = msgspec.json.decode(envelope.payload)
        subject = statement["subject"]
        kinds = (envelope.payload_type, statement["_type"], statement["predicateType"])
        names = [item["name"] for item in subject]
        digests = [item["digest"].get("sha256") for item in subject]
    except (msgspec.DecodeError, KeyError, TypeError, AttributeError) as exc:
        raise _integrity(
            f"{label}: the signed statement is not an in-toto statement ({exc})",
            "the registry is misbehaving; nothing was installed",
        ) from exc
    if kinds != (PAYLOAD_TYPE, STATEMENT_TYPE, PREDICATE_TYPE):
        raise _integrity(f"{label}: the signed statement is of an unknown kind", "upgrade skreg")
    expected = subject_name(namespace, name, version)
    if names != [expected]:
        raise _integrity(
            f"{label}: the signature is for {', '.join(map(str, names))}, not {expected}",
            "the registry served another version's signature; nothing was installed",
        )
    if digests != [digest.removeprefix("sha256:")]:
        signed = f"sha256:{digests[0]}" if digests else "nothing"
        raise _integrity(
            f"{label}: the registry signed {signed}, but the bundle is {digest}",
            "the bundle changed after the registry signed it; nothing was installed",
        )
