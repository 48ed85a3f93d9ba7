"""Real Git repositories for the importer tests, built with the `git` command line."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` for test set-up; fails loudly."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def skill_md(name: str, description: str = "A test skill.", extra: str = "") -> str:
    """A SKILL.md with the given frontmatter."""
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n# {name}\n\nBody.\n"


class Repo:
    """A working repository with helpers to write skills and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")

    def write(self, rel: str, content: str | bytes, executable: bool = False) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)
        if executable:
            target.chmod(0o755)
        return target

    def skill(self, rel: str, name: str | None = None, **kwargs: str) -> None:
        """Write `<rel>/SKILL.md` (the name defaults to the folder name)."""
        self.write(f"{rel}/SKILL.md", skill_md(name or Path(rel).name, **kwargs))

    def remove(self, rel: str) -> None:
        git(self.path, "rm", "-r", "-q", rel)

    def commit(self, message: str = "update") -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def tag(self, name: str, annotated: bool = False) -> None:
        """Tag HEAD (annotated tags are separate objects that ls-remote shows peeled)."""
        git(self.path, "tag", *(["-a", "-m", name] if annotated else []), name)

    @property
    def url(self) -> str:
        return f"file://{self.path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class GitDaemon:
    """`git daemon` serving every repository under `base` at git://127.0.0.1:<port>/<name>."""

    base: Path
    port: int
    process: subprocess.Popen[bytes]

    def repo(self, name: str) -> Repo:
        return Repo(self.base / name)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)


def start_git_daemon(base: Path) -> GitDaemon:
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            "--reuseaddr",
            f"--base-path={base}",
            f"--port={port}",
            "--listen=127.0.0.1",
            str(base),
        ],
        env=GIT_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port)
    return GitDaemon(base=base, port=port, process=process)


class SlowGitProxy:
    """A TCP proxy in front of `git daemon` that holds each connection for `delay` seconds
    before forwarding, and records the most connections it ever had open at once.

    A connection counts from accept until either side closes; the server side closes
    as soon as the pack is sent, before the client's git exits and frees its slot.
    """

    def __init__(self, upstream_port: int, delay: float) -> None:
        import asyncio

        self.upstream_port = upstream_port
        self.delay = delay
        self.port = free_port()
        self.active = 0
        self.max_active = 0
        self.total = 0
        self._loop = asyncio.new_event_loop()
        self._ready = __import__("threading").Event()
        self._thread = __import__("threading").Thread(target=self._run, daemon=True)
        self._server: object = None

    def _run(self) -> None:
        import asyncio

        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _handle(self, reader: object, writer: object) -> None:
        import asyncio

        assert isinstance(reader, asyncio.StreamReader)
        assert isinstance(writer, asyncio.StreamWriter)
        self.active += 1
        self.total += 1
        self.max_active = max(self.max_active, self.active)
        counted = True

        def done() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.active -= 1

        try:
            await asyncio.sleep(self.delay)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

            async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                try:
                    while chunk := await src.read(65536):
                        dst.write(chunk)
                        await dst.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    done()
                    with contextlib.suppress(ConnectionError, OSError):
                        dst.close()

            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            done()
            writer.close()

    def start(self) -> SlowGitProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
