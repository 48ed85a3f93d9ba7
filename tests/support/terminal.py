"""Run a shell script at a real terminal (a pseudo-terminal) and answer its prompts.

Password prompts read from the terminal (`getpass`), as they do for a person; a
pipe would not do (each Python process buffers more of a pipe than its one line).
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Session:
    """How the script ended and everything the terminal showed."""

    returncode: int
    transcript: str


def run_at_terminal(
    script: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    answers: Sequence[tuple[str, str]],
    timeout: float,
) -> Session:
    """Run `bash -c script`; each time the next prompt of `answers` shows, type its answer.

    `timeout` only guards against a hang (a prompt nobody answers): the script is
    killed then and the transcript says where it stopped.
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty
        try:
            os.chdir(cwd)
            os.execvpe("bash", ["bash", "--noprofile", "--norc", "-c", script], dict(env))
        finally:
            os._exit(127)
    pending = list(answers)
    seen = b""
    answered_at = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every process holding the terminal is gone
                break
            if not chunk:
                break
            seen += chunk
            if pending and pending[0][0].encode() in seen[answered_at:]:
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
                answered_at = len(seen)
        else:
            os.kill(pid, signal.SIGKILL)
            seen += b"\n[killed: still running after the test's timeout]\n"
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = ANSI.sub(b"", seen).replace(b"\r\n", b"\n").decode("utf-8", "replace")
    return Session(os.waitstatus_to_exitcode(status), text)
