"""`python -m tests.fuzz`: schemathesis over every OpenAPI operation, for a bounded time.

The all-in-one registry (`python -m skreg_gateway`, fenced so nothing resolves off
the host) starts on SQLite in a temporary directory, on a free 127.0.0.1 port. Its
one OpenAPI document (`/schema/openapi.json`) lists the operations of every service
it mounts: auth, catalog and importer. Every request carries the seeded admin's
credential, so the fuzzer reaches past 401/403 everywhere. That credential is an
`ADMIN_API_KEY` rather than a login's access token: the fuzzer calls `/logout` and
`/account/password` too, and would end a session in its first minute. Before the
run, `tests.fuzz.seed` creates data and `tests.fuzz.hooks` aims path parameters at
it, so the fuzzer reaches past 404 as well.

Schemathesis runs every phase within `FUZZ_SECONDS` (`--max-time`); the whole run
is killed if it overruns that by more than a grace period. Exit status 0 only when
no check failed, the server still answers and its log holds no error.
Extra arguments go to `schemathesis run` (e.g. `--seed 123`, `--report junit`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.fuzz.seed import SEED_ENV, seed
from tests.support.processes import Process, free_port, start, wait_http

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = "/schema/openapi.json"

# What must hold for every response. Left out, each for a reason that is not a bug here:
# positive_data_acceptance: the schema does not carry every rule (name patterns, lengths),
#   so schema-valid input may get a documented 422 problem;
# negative_data_rejection: Litestar converts leniently (`0` is accepted for `false`);
# allow_header_conformance: Litestar 2 lists one handler's methods in `Allow` when a path
#   has several handlers (litestar-org/litestar#4169, fixed in Litestar 3).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "missing_required_header",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
)
# Seconds past the budget for start-up, loading the schema and shrinking a failure.
GRACE_SECONDS = 90
ERROR_LEVELS = ("error", "critical", "exception")


def server_environment(workdir: Path, port: int, admin_key: str) -> dict[str, str]:
    """A dev all-in-one registry on SQLite in `workdir`, whatever the caller's environment."""
    return {
        "ENVIRONMENT": "dev",
        "GATEWAY_MODE": "all-in-one",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'registry.db'}",
        "AUTO_MIGRATE": "true",
        "REDIS_URL": "",  # empty counts as unset: in-process queue and throttles
        "ADMIN_API_KEY": admin_key,
        "IMPORTER_ALLOW_LOCAL": "false",
        "SYNC_ENABLED": "false",
        "LOG_JSON": "true",
        "LOG_LEVEL": "WARNING",
        "RELOAD": "false",
        # Cheapest password hashing: the fuzzer registers and logs in thousands of times.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
    }


def schemathesis_command(url: str, admin_key: str, seconds: int, workers: int) -> list[str]:
    """`schemathesis run` over the whole document with the admin's bearer credential."""
    executable = Path(sys.executable).with_name("schemathesis")
    return [
        str(executable),
        "run",
        url + SCHEMA_PATH,
        "--header",
        f"Authorization: Bearer {admin_key}",
        "--checks",
        ",".join(CHECKS),
        "--max-time",
        str(seconds),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
    ]


def logged_errors(process: Process) -> list[str]:
    """The server's error-level log lines (JSON lines; anything else that looks fatal)."""
    errors = []
    for line in process.log().splitlines():
        try:
            level = str(json.loads(line).get("level", "")).lower()
        except (ValueError, AttributeError):
            level = "error" if "Traceback" in line else ""
        if level in ERROR_LEVELS:
            errors.append(line)
    return errors


def still_admin(url: str, admin_key: str) -> bool:
    """Whether the credential still acts as an admin (a fuzzer may demote or disable it)."""
    me = httpx.get(
        url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {admin_key}"}, timeout=10
    )
    return me.status_code == 200 and "admin" in me.json().get("roles", [])


def run(seconds: int, workers: int, extra: list[str]) -> int:
    """Start the registry, fuzz it, stop it; the exit status of the whole run."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="skreg-fuzz-") as tmp:
        workdir = Path(tmp)
        port, admin_key = free_port(), secrets.token_urlsafe(32)
        url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "tests.fuzz.fenced_gateway"]
        env = server_environment(workdir, port, admin_key)
        server = start("registry", argv, env, workdir, ROOT)
        try:
            wait_http(server, url + "/health", timeout=60)
            if not still_admin(url, admin_key):
                print("fuzz: the registry does not accept ADMIN_API_KEY", file=sys.stderr)
                return 2
            known = seed(url, admin_key)
            command = schemathesis_command(url, admin_key, seconds, workers) + extra
            hooks_env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
                SEED_ENV: json.dumps(known),
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
                ),
            }
            try:
                status = subprocess.run(
                    command,
                    cwd=workdir,
                    env=hooks_env,
                    timeout=seconds + GRACE_SECONDS,
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                print(f"fuzz: schemathesis overran {seconds}+{GRACE_SECONDS} s", file=sys.stderr)
                status = 1
            try:
                wait_http(server, url + "/health", timeout=30)
            except (RuntimeError, TimeoutError) as exc:
                print(f"fuzz: the registry stopped answering: {exc}", file=sys.stderr)
                status = status or 1
            else:
                if not still_admin(url, admin_key):
                    print("fuzz: warning: the admin credential lost its role during the run")
        finally:
            server.stop()
        errors = logged_errors(server)
        if errors:
            print(f"fuzz: the registry logged {len(errors)} error(s):", file=sys.stderr)
            print("\n".join(errors[:20]), file=sys.stderr)
            status = status or 1
    print(f"fuzz: done in {time.monotonic() - started:.0f} s, exit status {status}")
    return status


def main() -> int:
    """Parse `--seconds`/`--workers` (defaults from FUZZ_SECONDS/FUZZ_WORKERS) and run."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "300")))
    # One worker by default: the server has SQLite and shares the machine's cores, and
    # CPython 3.11.7's ast.parse is not thread-safe (Hypothesis calls it while drawing).
    parser.add_argument("--workers", type=int, default=int(os.environ.get("FUZZ_WORKERS", "1")))
    args, extra = parser.parse_known_args()
    return run(args.seconds, args.workers, extra)


if __name__ == "__main__":
    sys.exit(main())
