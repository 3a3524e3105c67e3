"""Suite-wide fixtures: the plugin authors' testing kit, and a guard that keeps tests off the network."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

pytest_plugins = ["annexa.plugins.testing"]

_real_connect = socket.socket.connect


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and the like
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: not allowed in tests


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection that is not to 127.0.0.0/8 or ::1, so a forgotten endpoint fails loudly."""

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise ConnectionRefusedError(f"tests may only connect to the loopback address, not {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
