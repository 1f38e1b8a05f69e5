"""A private network namespace for benchmarks that need a non-loopback host address.

Janus (libnice) never offers candidates on a loopback interface, and aioice skips
127.0.0.1, so a WebRTC benchmark against Janus runs Janus and its aiortc peers in a
namespace of their own with one interface holding a private address (10.213.0.1/24 by
default). Nothing in the namespace routes anywhere else: there is no default route, so
all traffic stays on that address.

    ns = create("sanke-bench")                    # idempotent; needs root and iproute2
    subprocess.run([*exec_prefix(ns.name), "janus", ...])
    delete(ns.name)                               # idempotent too

The interface is a ``dummy`` link where the kernel has that driver and otherwise a
``veth`` pair with both ends inside the namespace (the address on the first end).

Errors: every failure raises ``NetnsError`` (not root, ``ip`` missing, an ``ip``
command that failed, with its stderr).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

DEFAULT_NAME = "sanke-bench"
DEFAULT_ADDRESS = "10.213.0.1/24"
DEFAULT_INTERFACE = "sanke0"

# Each `ip` call is a local netlink request; anything slower than this is a hang.
_IP_TIMEOUT_S = 10.0
_MAX_IFNAME = 15  # IFNAMSIZ - 1

LinkKind = Literal["dummy", "veth"]


class NetnsError(Exception):
    """A namespace could not be created, inspected or deleted."""


@dataclass(frozen=True)
class Namespace:
    """A created namespace: its name, interface, link kind and host address."""

    name: str
    interface: str
    kind: LinkKind
    address: ipaddress.IPv4Interface

    @property
    def ip(self) -> str:
        """The host address without prefix length, e.g. ``"10.213.0.1"``."""
        return str(self.address.ip)


def exec_prefix(name: str) -> list[str]:
    """The argv prefix that runs a command inside namespace ``name``."""
    return ["ip", "netns", "exec", name]


def current() -> str | None:
    """The name of the namespace this process runs in, or None for an unnamed one."""
    _require_ip()
    out = _ip("netns", "identify", str(os.getpid())).strip()
    return out or None


def exists(name: str) -> bool:
    """Whether a namespace called ``name`` exists."""
    _require_ip()
    return name in _list_namespaces()


def create(
    name: str = DEFAULT_NAME,
    address: str = DEFAULT_ADDRESS,
    *,
    interface: str = DEFAULT_INTERFACE,
) -> Namespace:
    """Create namespace ``name`` with ``lo`` up and ``interface`` holding ``address``.

    Re-creating an existing namespace is fine: missing pieces are added, present ones
    are left alone.
    """
    _require_root()
    _require_ip()
    host = ipaddress.IPv4Interface(address)
    if len(interface) + 1 > _MAX_IFNAME:
        raise NetnsError(f"interface name {interface!r} is too long (max {_MAX_IFNAME - 1})")
    if name not in _list_namespaces():
        _ip("netns", "add", name)
        logger.info("Netns(%s) created", name)
    _ip("-n", name, "link", "set", "lo", "up")
    kind = _ensure_link(name, interface)
    _ensure_address(name, interface, host)
    return Namespace(name=name, interface=interface, kind=kind, address=host)


def delete(name: str = DEFAULT_NAME) -> None:
    """Delete namespace ``name`` (and its interfaces); a missing namespace is fine.

    Processes still running inside keep the namespace alive, unnamed, until they exit:
    stop them first.
    """
    _require_root()
    _require_ip()
    if name in _list_namespaces():
        _ip("netns", "delete", name)
        logger.info("Netns(%s) deleted", name)


def _ensure_link(name: str, interface: str) -> LinkKind:
    links = _links(name)
    if interface in links:
        return "veth" if _is_veth(links[interface]) else "dummy"
    try:
        _ip("-n", name, "link", "add", interface, "type", "dummy")
        kind: LinkKind = "dummy"
    except NetnsError as exc:
        # Kernels built without the dummy driver answer "Unknown device type".
        logger.info("Netns(%s) no dummy link (%s), using a veth pair", name, exc)
        _ip("-n", name, "link", "add", interface, "type", "veth", "peer", "name", _peer(interface))
        kind = "veth"
    for link in [interface, _peer(interface)] if kind == "veth" else [interface]:
        # No IPv6 link-local addresses: they would only add candidates nobody needs.
        _ip("-n", name, "link", "set", "dev", link, "addrgenmode", "none", check=False)
        _ip("-n", name, "link", "set", link, "up")
    return kind


def _ensure_address(name: str, interface: str, host: ipaddress.IPv4Interface) -> None:
    shown = _ip_json("-n", name, "-4", "addr", "show", "dev", interface)
    present = {
        f"{info['local']}/{info['prefixlen']}"
        for entry in shown
        for info in entry.get("addr_info", [])
    }
    if str(host) not in present:
        _ip("-n", name, "addr", "add", str(host), "dev", interface)


def _is_veth(link: dict[str, Any]) -> bool:
    info = link.get("linkinfo", {})
    return bool(info.get("info_kind") == "veth")


def _peer(interface: str) -> str:
    return f"{interface}p"


def _links(name: str) -> dict[str, dict[str, Any]]:
    return {link["ifname"]: link for link in _ip_json("-n", name, "-d", "link", "show")}


def _list_namespaces() -> set[str]:
    return {entry["name"] for entry in _ip_json("netns", "list")}


def _ip_json(*args: str) -> list[dict[str, Any]]:
    out = _ip("-j", *args).strip()
    if not out:
        return []  # some iproute2 versions print nothing for an empty list
    parsed = json.loads(out)
    return parsed if isinstance(parsed, list) else []


def _ip(*args: str, check: bool = True) -> str:
    argv = ["ip", *args]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_IP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NetnsError(f"{' '.join(argv)} timed out after {_IP_TIMEOUT_S} s") from exc
    if check and done.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def _require_root() -> None:
    if os.geteuid() != 0:
        raise NetnsError("network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")


def _require_ip() -> None:
    if shutil.which("ip") is None:
        raise NetnsError("the `ip` command (iproute2) is not installed")
