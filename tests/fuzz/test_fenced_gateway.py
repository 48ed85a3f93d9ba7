"""The fuzzing run's server resolves loopback only, so no fuzzed URL leaves the host."""

from __future__ import annotations

import socket

import pytest

from tests.fuzz.fenced_gateway import is_loopback, loopback_only_getaddrinfo


@pytest.mark.parametrize(
    "host", ["example.org", "git.invalid", "10.0.0.1", "8.8.8.8", "2001:db8::1", b"example.org"]
)
def test_names_off_the_host_do_not_resolve(host) -> None:
    assert not is_loopback(host)
    with pytest.raises(socket.gaierror):
        loopback_only_getaddrinfo(host, 443, type=socket.SOCK_STREAM)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LocalHost"])
def test_loopback_still_resolves(host) -> None:
    assert is_loopback(host)
    addresses = {info[4][0] for info in loopback_only_getaddrinfo(host, 80)}
    assert addresses
    assert all(is_loopback(address) for address in addresses)
