"""The state one `skreg` run shares between its commands: options, config, output, clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from skreg_cli import config as cfg
from skreg_cli.client import ApiClient
from skreg_cli.lockfile import Scope, global_scope, project_scope
from skreg_cli.output import Output


@dataclass
class AppContext:
    """Built once by the `skreg` group from the global options."""

    url_flag: str | None
    token_flag: str | None
    output: Output
    config_dir: Path = field(default_factory=cfg.config_dir)
    _clients: dict[str, ApiClient] = field(default_factory=dict)

    def stored(self) -> cfg.StoredConfig:
        """The config file as it is now."""
        return cfg.load(self.config_dir)

    def resolved(self) -> cfg.Resolved:
        """The registry URL and credential for this run."""
        return cfg.resolve(self.stored(), url_flag=self.url_flag, token_flag=self.token_flag)

    def client(self, registry: str | None = None) -> ApiClient:
        """A client for the current registry, or for `registry` (a lockfile's).

        Another registry gets the credential stored for it, never this one's.
        """
        current = self.resolved()
        url = cfg.normalise_url(registry) if registry else current.url
        if url not in self._clients:
            token = current.token if url == current.url else self._stored_token(url)
            hint = cfg.where_from(current) if url == current.url else None
            self._clients[url] = self._new_client(url, token, hint)
        return self._clients[url]

    def admin_client(self) -> ApiClient:
        """A client for admin commands: --token / SKREG_TOKEN, else the stored admin key."""
        current = self.resolved()
        admin = self.stored().admin_credentials.get(current.url)
        token = current.token
        if current.token_source in ("config", None) and admin is not None:
            token = admin.token
        key = f"admin {current.url}"
        if key not in self._clients:
            self._clients[key] = self._new_client(current.url, token, cfg.where_from(current))
        return self._clients[key]

    def anonymous_client(self, target: cfg.Resolved) -> ApiClient:
        """A client that sends no stored credential (login must not present an old key)."""
        url = target.url
        client = self._new_client(url, None, cfg.where_from(target))
        self._clients[f"anonymous {url}"] = client
        return client

    def _new_client(self, url: str, token: str | None, hint: str | None) -> ApiClient:
        # --verbose always says which registry a command talks to, and as whom.
        self.output.debug(f"registry: {url} ({'with a credential' if token else 'anonymous'})")
        log = self.output.debug if self.output.verbose else None
        return ApiClient(url, token, log=log, unreachable_hint=hint)

    def _stored_token(self, url: str) -> str | None:
        stored = self.stored().credentials.get(url)
        return stored.token if stored else None

    def scope(self, global_: bool) -> Scope:
        """Project scope (from the current directory) or the global one."""
        return global_scope(self.config_dir) if global_ else project_scope(Path.cwd())

    def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def get(ctx: click.Context) -> AppContext:
    """The AppContext of the current run."""
    app = ctx.find_object(AppContext)
    if app is None:  # pragma: no cover - every command runs under the group
        raise click.UsageError("skreg commands must run under the skreg group")
    return app


pass_app = click.make_pass_decorator(AppContext)
