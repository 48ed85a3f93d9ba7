"""A private PostgreSQL cluster a fault test may stop and start (never the shared one).

`initdb` into a temporary directory as the `postgres` user (PostgreSQL refuses to run
as root), then `pg_ctl start/stop` on a free loopback port with trust authentication,
its socket inside that directory. Nothing outside the directory is touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.support.processes import free_port


def pg_bin_dir() -> Path:
    """The directory with `initdb` and `pg_ctl` (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    return Path(on_path).parent


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL will not run as root; the test runner is root in CI and in the container.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PgCluster:
    """One running (or stopped) private cluster."""

    datadir: Path
    port: int
    bin_dir: Path

    @property
    def dsn(self) -> str:
        """The libpq URL of its `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """A SQLAlchemy asyncpg URL for `database` in this cluster."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        result = subprocess.run(
            _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.datadir), *args]),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.datadir / "server.log"))

    def stop(self) -> None:
        """Stop now (`fast`: open sessions are disconnected, as in a restart)."""
        self._pg_ctl("stop", "-w", "-t", "30", "-m", "fast")

    async def create_database(self, name: str) -> None:
        """CREATE DATABASE `name` (an identifier the test chose)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


@contextmanager
def private_cluster() -> Iterator[PgCluster]:
    """A fresh cluster, started; stopped and deleted afterwards whatever happens."""
    bin_dir = pg_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="skreg-pg-"))
    datadir = root / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        port = free_port()
        with (datadir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{root}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
            )
        cluster = PgCluster(datadir, port, bin_dir)
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(RuntimeError):  # already stopped by the test
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
