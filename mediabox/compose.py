"""The compose project of a Docker guest, rendered from the service catalog and its settings.

`render(settings, secrets, render_gid)` gives a Project: compose.yaml's text (no secret in it) and one
env file per service that has secrets (written 0600 next to it). Rendering is pure and deterministic:
the same settings and secrets give the same bytes, so a changed file means a changed stack.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mediabox import homepage, yamltext
from mediabox.catalog import SERVICES, Service
from mediabox.secrets import Secrets, key_name
from mediabox.settings import Settings

PROJECT = "mediabox"
NETWORK = "media"
APPDATA, DATA = "/appdata", "/data"  # where the guest mounts the pool's subvolumes (mediabox.lxc)
ENV_DIR = "env"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z0-9_]+))?\}")


@dataclass(frozen=True)
class Project:
    compose: str  # compose.yaml
    env_files: dict[str, str]  # "env/<service>.env" -> its text (0600)

    def files(self) -> dict[str, str]:
        return {"compose.yaml": self.compose, **self.env_files}


def image(s: Settings, svc: Service) -> str:
    """The image a service runs: an override, or the catalog's pin from image_registry when one is set."""
    if svc.name in s.image_overrides:
        return s.image_overrides[svc.name]
    if not s.image_registry:
        return svc.image
    first, _, rest = svc.image.partition("/")
    if "." in first or ":" in first:  # it names a registry (lscr.io, ghcr.io): replace it
        return f"{s.image_registry}/{rest}"
    return f"{s.image_registry}/{svc.image}" if rest else f"{s.image_registry}/library/{svc.image}"


def render(s: Settings, secrets: Secrets, render_gid: int | None = None, key_scope: str | None = None) -> Project:
    """The compose project of a guest with these settings; key_scope: see mediabox.secrets.key_name."""
    enabled = s.enabled_services()
    services, env_files = {}, {}
    for svc in enabled:
        services[svc.host_name] = _service(s, svc, enabled, render_gid)
        env = _secret_env(s, svc, secrets, key_scope)
        if env:
            path = f"{ENV_DIR}/{svc.host_name}.env"
            env_files[path] = "".join(f"{key}={_env_value(value)}\n" for key, value in env.items())
            services[svc.host_name]["env_file"] = [path]
    document = {
        "name": PROJECT,
        "services": services,
        "networks": {NETWORK: {"name": f"{PROJECT}_{NETWORK}", "driver": "bridge", "ipam": {"config": [
            {"subnet": str(s.docker_subnet), "ip_range": str(s.docker_ip_range)}]}}},
    }
    header = "# Rendered by mediabox from its service catalog; edits are replaced on the next run.\n"
    return Project(header + yamltext.dump(document, width=120), env_files)


def _service(s: Settings, svc: Service, enabled: list[Service], render_gid: int | None) -> dict:
    fill = _filler(s, svc)
    spec: dict = {"image": image(s, svc), "container_name": svc.host_name, "restart": "unless-stopped"}
    if svc.user:
        spec["user"] = fill(svc.user)
    if svc.command:
        spec["command"] = [fill(part) for part in svc.command]
    environment = {"PUID": str(s.puid), "PGID": str(s.pgid), "TZ": s.timezone, "UMASK": "002"} \
        if svc.linuxserver else {}
    environment.update({key: fill(value) for key, value in svc.environment.items()})
    if svc.name == "gluetun":
        environment.update(s.vpn_env)
    environment.update(s.service_environment.get(svc.name, {}))
    if environment:
        spec["environment"] = environment
    if svc.volumes:
        spec["volumes"] = [fill(volume) for volume in svc.volumes]
    if svc.cap_add:
        spec["cap_add"] = list(svc.cap_add)
    devices, groups = _devices(s, svc, render_gid)
    if devices:
        spec["devices"] = devices
    if groups:
        spec["group_add"] = groups
    if svc.vpn:
        spec["network_mode"] = "service:gluetun"
    else:
        spec["networks"] = {NETWORK: {"ipv4_address": str(s.ip(svc))}}
        ports = [_port(s, svc)] if s.port(svc) else []
        if svc.name == "gluetun":
            ports += [_port(s, other) for other in enabled if other.vpn and s.port(other)]
            # The apps in gluetun's namespace share its /etc/hosts, but not Docker's DNS (gluetun answers DNS
            # itself, through the tunnel): they find the stack's services (Prowlarr's and autobrr's apps) here.
            hosts = [f"{other.host_name}:{s.ip(other)}" for other in enabled if not other.vpn and other is not svc]
            if hosts:
                spec["extra_hosts"] = hosts
        if ports:
            spec["ports"] = ports
    if svc.requires:
        spec["depends_on"] = {SERVICES[name].host_name: {"condition": "service_healthy", "restart": True}
                              for name in svc.requires if s.enabled(name)}
    if svc.healthcheck:
        spec["healthcheck"] = {"test": ["CMD-SHELL", svc.healthcheck], "interval": f"{s.health_check_interval_s}s",
                               "timeout": "10s",
                               "retries": 5, "start_period": "60s"}
    spec["mem_limit"] = f"{s.memory_mb(svc)}m"
    spec["labels"] = {"mediabox.service": svc.name, "mediabox.group": svc.group}
    return spec


def _port(s: Settings, svc: Service) -> str:
    return f"{s.port(svc)}:{svc.inner_port}"


def _devices(s: Settings, svc: Service, render_gid: int | None) -> tuple[list[str], list[str]]:
    devices, groups = [], []
    if "tun" in svc.devices:
        devices.append("/dev/net/tun:/dev/net/tun")
    if "dri" in svc.devices and s.jellyfin_hwaccel != "none":
        devices.append("/dev/dri:/dev/dri")
        if render_gid is not None:
            groups.append(str(render_gid))
    return devices, groups


def _filler(s: Settings, svc: Service):
    """A function that fills the catalog's placeholders for this service."""
    values = {
        "appdata": f"{APPDATA}/{svc.name}", "data": DATA, "tz": s.timezone, "puid": str(s.puid),
        "pgid": str(s.pgid), "admin_user": s.apps_admin_user, "docker_subnet": str(s.docker_subnet),
        "lan": str(s.guest_ip.network) if s.guest_ip else "", "guest_ip": str(s.guest_ip.ip) if s.guest_ip else "",
        "heap_mb": str(s.memory_mb(svc) // 2), "vpn_provider": s.vpn_provider, "vpn_type": s.vpn_type,
        "updater_monitor_only": str(s.updater_monitor_only).lower(), "updater_schedule": s.updater_schedule,
        "qbittorrent_listen_port": str(s.qbittorrent_listen_port),
    }

    def one(match: re.Match) -> str:
        name, arg = match.groups()
        if name == "host":
            return SERVICES[arg].host_name
        if name == "port":
            return str(SERVICES[arg].inner_port)
        return values[name]

    return lambda text: _PLACEHOLDER.sub(one, text)


def _secret_env(s: Settings, svc: Service, secrets: Secrets, key_scope: str | None) -> dict[str, str]:
    env = {variable: secrets[key] for variable, key in svc.secret_env.items() if key in secrets}
    if svc.name == "gluetun":
        if s.vpn_type == "wireguard":
            env["WIREGUARD_PRIVATE_KEY"] = secrets["vpn_wireguard_private_key"]
        else:
            env["OPENVPN_USER"] = secrets["vpn_openvpn_user"]
            env["OPENVPN_PASSWORD"] = secrets["vpn_openvpn_password"]
    if svc.name == "updater" and secrets.get("notify_url"):
        env["WATCHTOWER_NOTIFICATION_URL"] = secrets["notify_url"]
    if svc.name == "homepage":  # the values mediabox.homepage's widgets name
        keyed = [(homepage.key_variable(other), key_name(other.name, key_scope))
                 for other in s.enabled_services() if homepage.keyed(other)]
        env.update({variable: secrets[key] for variable, key in keyed if key in secrets})
        if s.enabled("qbittorrent"):
            env[homepage.PASSWORD_VARIABLE] = secrets["qbittorrent_password"]
    return env


def _env_value(value: str) -> str:
    """A value as an env file holds it: quoted when it has characters compose would otherwise read."""
    if re.fullmatch(r"[\w@%+=:,./-]*", value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def changes(state: dict, files: dict[str, str], services: list[str]) -> list[str]:
    """What differs between a guest's project (facts.docker.ComposeState) and the rendered files: files to
    write, and services that are missing, stopped or unhealthy. Empty: nothing to do."""
    found = [f"{name} {'differs' if name in state['files'] else 'is missing'}" for name in to_write(state, files)]
    found += [f"{name} is no longer wanted" for name in stale(state, files)]
    for service in services:
        container = state["containers"].get(service)
        if container is None:
            found.append(f"{service} has no container")
        elif container["state"] != "running":
            found.append(f"{service} is {container['state']}")
        elif container["health"] == "unhealthy":
            found.append(f"{service} is unhealthy")
    return found


def to_write(state: dict, files: dict[str, str]) -> list[str]:
    """The project files whose content on the guest differs from the rendered text, or that are missing."""
    return sorted(name for name, text in files.items() if state["files"].get(name) != digest(text))


def stale(state: dict, files: dict[str, str]) -> list[str]:
    """Files on the guest that the rendered project no longer has (env files of services turned off)."""
    return sorted(set(state["files"]) - set(files))


def digest(text: str) -> str:
    """A file's SHA-256 as sha256sum prints it."""
    return hashlib.sha256(text.encode()).hexdigest()
