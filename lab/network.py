"""The LAN stand-in: bridge labbr0 with 10.213.0.1/24 in the root network namespace.

No NAT, no forwarding, no DNS: the lab hosts reach only the lab machine (apt goes through the apt proxy
on the bridge address). Nothing here changes sysctls, iptables or nftables.
"""

import os

from . import topology
from .shell import run, say

STEP = "network"


def bridge_exists():
    """True when labbr0 exists."""
    return os.path.exists(f"/sys/class/net/{topology.BRIDGE}")


def bridge_address():
    """The address expected on the bridge, e.g. 10.213.0.1/24."""
    return f"{topology.GATEWAY}/{topology.PREFIX}"


def bridge_ok():
    """True when labbr0 exists, is up and carries the gateway address."""
    if not bridge_exists():
        return False
    out = run(STEP, ["ip", "-o", "-4", "addr", "show", "dev", topology.BRIDGE]).stdout
    with open(f"/sys/class/net/{topology.BRIDGE}/flags") as flags:
        up = int(flags.read(), 16) & 1
    return bool(up) and f" {bridge_address()} " in out


def ensure_bridge():
    """Create labbr0 with the gateway address and bring it up (each part only if missing)."""
    if bridge_ok():
        say(STEP, f"ok (already up: {topology.BRIDGE} {bridge_address()})")
        return
    if not bridge_exists():
        run(STEP, ["ip", "link", "add", topology.BRIDGE, "type", "bridge"])
    out = run(STEP, ["ip", "-o", "-4", "addr", "show", "dev", topology.BRIDGE]).stdout
    if f" {bridge_address()} " not in out:
        run(STEP, ["ip", "addr", "add", bridge_address(), "dev", topology.BRIDGE])
    run(STEP, ["ip", "link", "set", topology.BRIDGE, "up"])
    say(STEP, f"created {topology.BRIDGE} {bridge_address()}")


def remove_bridge():
    """Delete labbr0 (its addresses and neighbour entries go with it)."""
    if not bridge_exists():
        say(STEP, f"ok (no {topology.BRIDGE})")
        return
    run(STEP, ["ip", "link", "del", topology.BRIDGE])
    say(STEP, f"deleted {topology.BRIDGE}")
