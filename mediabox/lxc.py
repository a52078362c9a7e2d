"""A Docker guest's Proxmox container config: wanted from the settings, compared with what the API
reports without tripping on the values Proxmox normalises (sorted features, added hwaddr, sized rootfs)."""

from __future__ import annotations

import re

from mediabox.settings import Settings

# Every container the engine makes carries this tag; a container without it is never touched.
MANAGED_TAG = "mediabox"

# Sent when a container is created, never compared afterwards (changing them means a new container).
CREATE_ONLY = ("ostemplate", "rootfs", "unprivileged", "ssh-public-keys", "vmid")

# Keys a running container cannot take without a restart; Proxmox keeps them pending until then.
NEEDS_RESTART = ("features", "unprivileged", "rootfs")
NEEDS_RESTART_PREFIXES = ("mp", "dev")

# Which setting each API key comes from, so PVE's own field errors name the setting to fix.
SETTING_OF = {"hostname": "guest_hostname", "cores": "guest_cores", "memory": "guest_memory_mb",
              "swap": "guest_swap_mb", "rootfs": "guest_disk_gb", "net0": "guest_ip", "nameserver": "guest_nameserver",
              "ostemplate": "guest_template", "vmid": "guest_vmid", "mp0": "storage_mount", "mp1": "storage_mount"}

# Keys the API adds or computes that the engine does not manage.
_IGNORED = {"digest", "arch", "ostype", "lxc", "description"}
_IGNORED_SUBKEYS = {"net": {"hwaddr", "type"}}


RENDER_NODE = "/dev/dri/renderD128"

# A line of /etc/pve/lxc/<vmid>.conf that passes a raw LXC key through (guest_lxc_raw).
RAW_LXC_RE = re.compile(r"^lxc\.[a-z0-9_.]+: \S.*$")


def wanted(guest: Settings, host: Settings, ssh_public_key: str | None) -> dict:
    """The create parameters of a Docker guest, from its settings and the Proxmox host's."""
    config = _common(guest, ssh_public_key)
    config.update({
        "features": "keyctl=1,nesting=1",
        "mp0": f"{host.storage_mount}/appdata,mp=/appdata",
        "mp1": f"{host.storage_mount}/data,mp=/data",
    })
    devices = []
    if guest.enabled("gluetun"):
        devices.append("/dev/net/tun")
    if guest.enabled("jellyfin") and guest.jellyfin_hwaccel != "none":
        devices.append(RENDER_NODE)
    config.update({f"dev{i}": device for i, device in enumerate(devices)})
    return config


def wanted_nas(guest: Settings, host: Settings, ssh_public_key: str | None) -> dict:
    """The create parameters of the NAS guest: no nesting, no devices, only the data subvolume at /data."""
    return {**_common(guest, ssh_public_key), "mp0": f"{host.storage_mount}/data,mp=/data"}


def _common(guest: Settings, ssh_public_key: str | None) -> dict:
    config = {
        "vmid": guest.guest_vmid,
        "hostname": guest.guest_hostname,
        "ostemplate": f"local:vztmpl/{guest.guest_template}",
        "rootfs": f"{guest.guest_storage}:{guest.guest_disk_gb}",
        "unprivileged": 1,
        "cores": guest.guest_cores,
        "memory": guest.guest_memory,
        "swap": guest.guest_swap_mb,
        "onboot": 1,
        "startup": f"order={guest.guest_start_order}",
        "tags": MANAGED_TAG,
        "net0": f"name=eth0,bridge={guest.guest_bridge},ip={guest.guest_ip},gw={guest.guest_gateway}",
    }
    if guest.guest_nameserver:
        config["nameserver"] = str(guest.guest_nameserver)
    if ssh_public_key:
        config["ssh-public-keys"] = ssh_public_key
    return config


def with_render_gid(config: dict, gid: int | None) -> dict:
    """The config with the render node passed through as the group that owns it inside the container."""
    if gid is None:
        return config
    return {key: f"{value},gid={gid}" if key.startswith("dev") and value == RENDER_NODE else value
            for key, value in config.items()}


def effective(pending: list[dict]) -> tuple[dict, set[str]]:
    """The config a container will have once pending changes apply, and the keys still pending,
    from GET /nodes/{node}/lxc/{vmid}/pending."""
    config, waiting = {}, set()
    for entry in pending:
        if entry.get("delete"):
            waiting.add(entry["key"])
            continue
        config[entry["key"]] = entry.get("pending", entry.get("value"))
        if "pending" in entry:
            waiting.add(entry["key"])
    return config, waiting


def changes(current: dict, want: dict) -> dict:
    """The keys whose wanted value differs from the current one, with the wanted value."""
    return {key: value for key, value in want.items()
            if key not in CREATE_ONLY and normalise(key, current.get(key)) != normalise(key, value)}


def needs_restart(keys: set[str] | list[str]) -> list[str]:
    return sorted(k for k in keys if k in NEEDS_RESTART or k.rstrip("0123456789") in NEEDS_RESTART_PREFIXES)


def normalise(key: str, value) -> object:
    """A value as the engine compares it: option lists as dicts, tags as a set, numbers as ints."""
    if value is None or key in _IGNORED:
        return None
    if key == "tags":
        return frozenset(t for t in str(value).replace(",", ";").replace(" ", ";").split(";") if t)
    family = key.rstrip("0123456789")
    if family in ("net", "mp", "dev", "rootfs", "features", "startup"):
        return _options(str(value), ignore=_IGNORED_SUBKEYS.get(family, set()))
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _options(text: str, ignore: set[str]) -> dict:
    """'a,b=1,c=2' -> {'': 'a', 'b': '1', 'c': '2'} (the leading item without '=' is the volume or path)."""
    result = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            key, value = "", item
        if key not in ignore:
            result[key] = value
    return result
