"""The embedded default never signs with the public dev secrets.

`make run` sets neither SECRET_KEY nor SERVICE_SECRET. Their built-in defaults are in
the source, so anyone who could reach the port could sign an admin access token with
them (an outside review did, against a loopback registry: a DNS-rebinding page or any
other local user reaches loopback too). So the all-in-one process, when it listens on
loopback only, makes random secrets on first start and keeps them in a file readable
by its owner alone, beside its SQLite database (or in the working directory): sessions
and API keys survive restarts, and nothing public can sign for it. Listening beyond
loopback still needs real secrets (`skreg_common.internal.listen_problem`).

The same goes for the key the catalog signs versions with: made once beside the
secrets file (`.skreg-signing-key.pem`, 0600) and named by `SIGNING_KEY_FILE`, so
signatures made before a restart are checked against the same key after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import MutableMapping
from pathlib import Path

from skreg_catalog.signing.keys import write_key_file
from skreg_common.db import is_sqlite, sqlite_location
from skreg_common.internal import is_loopback_host

SECRETS_FILE = ".skreg-secrets.json"
GENERATED = ("SECRET_KEY", "SERVICE_SECRET")
SIGNING_KEY_FILE = ".skreg-signing-key.pem"


def secrets_path(environ: MutableMapping[str, str]) -> Path:
    """Beside the SQLite database file, else the working directory."""
    url = environ.get("DATABASE_URL", "")
    if is_sqlite(url):
        location, is_uri = sqlite_location(url)
        if not is_uri and location != ":memory:":
            return Path(location).resolve().parent / SECRETS_FILE
    return Path.cwd() / SECRETS_FILE


def _local_mode(environ: MutableMapping[str, str]) -> bool:
    dev = environ.get("ENVIRONMENT", "dev").strip().lower() == "dev"
    return dev and is_loopback_host(environ.get("HOST", "127.0.0.1"))


def ensure_local_signing_key(environ: MutableMapping[str, str]) -> Path | None:
    """Point SIGNING_KEY_FILE at the local signing key (made on first use) when no key is
    configured, in dev mode on a loopback host; returns the file used."""
    if environ.get("SIGNING_KEY_FILE") or environ.get("SIGNING_KEY") or not _local_mode(environ):
        return None
    path = secrets_path(environ).with_name(SIGNING_KEY_FILE)
    if not path.exists():
        # Another process may have made it a moment ago: then use theirs.
        with contextlib.suppress(FileExistsError):
            write_key_file(path)
    environ["SIGNING_KEY_FILE"] = str(path)
    return path


def ensure_local_secrets(environ: MutableMapping[str, str]) -> Path | None:
    """Fill unset secrets from the local file (made on first use); returns the file used.

    Only in dev mode and on a loopback host: elsewhere the settings' own rules apply
    (production and non-loopback listeners refuse dev secrets).
    """
    missing = [name for name in GENERATED if not environ.get(name)]
    if not missing or not _local_mode(environ):
        return None
    path = secrets_path(environ)
    stored: dict[str, str] = {}
    if path.exists():
        loaded = json.loads(path.read_text())
        stored = {k: v for k, v in loaded.items() if isinstance(v, str) and len(v) >= 32}
    fresh = {name: secrets.token_urlsafe(48) for name in missing if name not in stored}
    if fresh:
        stored.update(fresh)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(stored, out)
        os.replace(temporary, path)
    for name in missing:
        environ[name] = stored[name]
    return path
