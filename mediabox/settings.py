"""The typed settings model: every key of group_data, each value typed and ranged.

Checks across fields and hosts live in mediabox/checks.py; mediabox/run.py runs both over an inventory.

Defaults live in group_data/all.py (the public, commented list); this model has none of its own,
so the two cannot drift apart (tests/unit/test_group_data.py checks they name the same keys).
Service defaults (port, address, memory) live in the catalog and are overridden by the
service_ports, service_ips and service_memory_mb maps.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator
from pyinfra.api.connectors import get_all_connectors

from mediabox.catalog import GUEST_BASE_MEMORY_MB, PROFILE_GUEST_MEMORY_MB, SERVICES, Allocation, Service

ALL_PY = Path(__file__).resolve().parent.parent / "group_data" / "all.py"
STAGES = ("preflight", "host", "guests", "docker", "stack", "wire", "verify")
ROLES = ("proxmox", "docker_guests", "nas_guests")
BY_ID_RE = re.compile(r"^/dev/disk/by-id/(ata|nvme|scsi|usb|virtio|mmc)-[^/]+$")

# Keys pyinfra itself reads from host data: its connectors' options (global arguments start with _).
PYINFRA_KEYS = frozenset(key for connector in get_all_connectors().values() for key in connector.data_meta)


class SettingsError(Exception):
    """Raised with the whole list of problems; str() is the message shown to the user."""

    title = "setting problem(s) found"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(render(problems, self.title))


@dataclass
class Problem:
    key: str
    value: Any
    message: str
    fix: str
    hosts: list[str] = field(default_factory=list)

    def line(self) -> str:
        where = f" [{', '.join(self.hosts)}]" if self.hosts else ""
        return f"{self.key} = {self.value!r}{where}: {self.message}. Fix: {self.fix}"


def render(problems: list[Problem], title: str) -> str:
    lines = [f"{len(problems)} {title}; nothing was changed on any host:"]
    lines += [f"  {i}. {p.line()}" for i, p in enumerate(problems, 1)]
    return "\n".join(lines)


def _describe(text: str, **kwargs: Any) -> Any:
    """A field whose description doubles as the fix shown for a bad value."""
    return Field(description=text, **kwargs)


def disk_serial(by_id_path: str) -> str:
    """The serial in a by-id name: udev names disks <bus>-<model>_<serial>."""
    name = by_id_path.rsplit("/", 1)[-1]
    return name.rsplit("_", 1)[-1] if "_" in name else name.split("-", 1)[-1]


class _SettingsBase(BaseModel):
    """One host's settings. No defaults here: group_data/all.py holds them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Run
    stages: tuple[str, ...] = _describe("a comma list of stages, e.g. 'host,guests' (all: " + ",".join(STAGES) + ")")
    secrets_file: str = _describe("a path outside git, e.g. '~/.config/mediabox/secrets.yml'")
    restore_service: str | None = _describe("None, 'all' or an enabled service with appdata, e.g. 'sonarr'")
    restore_snapshot: str = _describe("'latest' or a snapshot's name such as 'appdata-2026-12-01T030000'",
                                      pattern=r"^(latest|appdata-[\w.:-]+)$")

    # Site
    timezone: str = _describe("an IANA time zone such as 'Europe/Berlin'")
    puid: int = _describe("the uid apps run as inside the guest, 1 to 65533 (usually 1000)", ge=1, le=65533)
    pgid: int = _describe("the gid apps run as inside the guest, 1 to 65533 (usually 1000)", ge=1, le=65533)
    guest_id_offset: int = _describe("the unprivileged guests' id shift, 100000 on Proxmox", ge=1)
    apt_proxy: str | None = _describe("None or an http:// URL such as 'http://192.168.1.5:3142'")
    profile: Literal["8gb", "16gb"] = _describe("'8gb' or '16gb', the preset that picks services")

    # Storage
    storage_mount: str = _describe("an absolute path such as '/mnt/storage'")
    pool_label: str = _describe("a btrfs label of 1-255 characters, such as 'media'", min_length=1, max_length=255)
    pool_disks: tuple[str, ...] = _describe("the two disks' /dev/disk/by-id/... paths")
    pool_wipe_serials: tuple[str, ...] = _describe("a list of serials of pool disks that may be wiped")
    pool_convert_to_raid1: bool = _describe("True or False")
    storage_mode: str = _describe("an octal mode such as '2775'", pattern=r"^[0-7]?[0-7]{3}$")
    scrub_calendar: str = _describe("a systemd OnCalendar value such as 'monthly'", min_length=1)
    snapshot_calendar: str = _describe("a systemd OnCalendar value such as 'daily'", min_length=1)
    snapshot_retention_days: int = _describe("a number of days, 1 or more", ge=1)
    disk_check_calendar: str = _describe("a systemd OnCalendar value such as 'daily'", min_length=1)
    disk_space_warn_percent: int = _describe("a percentage between 50 and 99", ge=50, le=99)
    export_target: str | None = _describe("None, or an absolute path on the Proxmox host such as '/mnt/backup'")
    export_calendar: str = _describe("a systemd OnCalendar value such as 'weekly'", min_length=1)
    export_keep: int = _describe("how many exports to keep, 1 or more", ge=1)
    container_check_calendar: str = _describe("a systemd OnCalendar value such as '*:0/15'", min_length=1)

    # Proxmox host
    pve_api_host: str | None = _describe("None (use the SSH address) or the API's host name or IP")
    pve_api_port: int = _describe("the API port, 8006 on Proxmox", ge=1, le=65535)
    pve_node: str = _describe("the node name shown by `pvecm nodes` or in the web UI, e.g. 'pve'", min_length=1)
    pve_auth: Literal["password", "token", "ssh"] = _describe("'password' (root@pam ticket), 'token' or 'ssh' "
                                                              "(pvesh over SSH as root)")
    pve_user: str = _describe("a user such as 'root@pam'", pattern=r"^[^@\s]+@[^@\s]+$")
    pve_ca_file: str | None = _describe("the path of a copy of the host's /etc/pve/pve-root-ca.pem")
    pve_tls_fingerprint: str | None = _describe("the API certificate's SHA-256 fingerprint, 32 hex pairs with colons",
                                                pattern=r"^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$")
    host_memory_reserve_mb: int = _describe("MB kept for Proxmox itself, e.g. 1024", ge=256)
    pve_backup_storage: str | None = _describe("None or a storage id such as 'mediabox-backup'",
                                               pattern=r"^[a-z][a-z0-9\-_.]*[a-z0-9]$")

    # Docker guest (per guest: set these on each guest in the inventory)
    guest_vmid: int = _describe("a free Proxmox guest id, 100 or more (e.g. 200)", ge=100, le=999999999)
    guest_hostname: str = _describe("a DNS label such as 'media'", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    guest_ip: IPv4Interface | None = _describe("the guest's address with prefix length, e.g. '192.168.1.20/24'")
    guest_gateway: IPv4Address | None = _describe("the LAN gateway, e.g. '192.168.1.1'")
    guest_bridge: str = _describe("a Proxmox bridge such as 'vmbr0'", pattern=r"^vmbr\d+$")
    guest_nameserver: IPv4Address | None = _describe("None or a DNS server address such as '192.168.1.1'")
    guest_cores: int = _describe("a number of CPU cores, 1 or more", ge=1, le=512)
    guest_memory_mb: int | None = _describe("None (the profile's: 6144 for 8gb, 12288 for 16gb) or MB, e.g. 6144",
                                            ge=512)
    guest_swap_mb: int = _describe("the guest's swap in MB, e.g. 512", ge=0)
    guest_disk_gb: int = _describe("the root disk size in GB, e.g. 16", ge=4)
    guest_storage: str = _describe("a Proxmox storage for the root disk, e.g. 'local-lvm'", min_length=1)
    guest_template: str = _describe("a template file name such as 'debian-12-standard_12.7-1_amd64.tar.zst'",
                                    pattern=r"^[\w.+-]+\.tar\.(zst|gz|xz)$")

    guest_lxc_raw: tuple[str, ...] = _describe("a list of 'lxc.key: value' lines, e.g. "
                                               "['lxc.cgroup2.devices.allow: c 226:* rwm']")
    guest_start_order: int = _describe("the guest's place in the host's start order, 1 or more", ge=1)
    guest_restart_for_changes: bool = _describe("True or False")
    guest_template_url: str | None = _describe("None or an http(s) URL of the template file",
                                               pattern=r"^https?://\S+$")
    guest_template_sha512: str | None = _describe("None or the template's SHA-512, 128 hex characters",
                                                  pattern=r"^[0-9a-fA-F]{128}$")

    # Wiring
    apps_admin_user: str = _describe("a user name such as 'admin'", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    apps_ready_timeout_s: int = _describe("seconds, 10 or more", ge=10, le=3600)
    qbittorrent_listen_port: int = _describe("a port, 1024 to 65535", ge=1024, le=65535)
    qbittorrent_vpn_interface: str = _describe("an interface name such as 'tun0' or 'wg0'",
                                               pattern=r"^[A-Za-z0-9_.-]{1,15}$")
    seerr_quality_profile: str = _describe("a quality profile name such as 'HD-1080p'", min_length=1, max_length=64)

    # NAS guest
    nas_enabled: bool | None = _describe("True, False, or None (allowed with profile '16gb', not with '8gb')")
    nas_user: str = _describe("a user name such as 'media'", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    nas_shares: dict[str, str] = _describe("a map of share name to folder under the data subvolume, e.g. "
                                           "{'media': 'media'}")

    # Docker engine and the stack
    docker_source: Literal["docker", "debian"] = _describe("'docker' (Docker's apt repository) or 'debian'")
    docker_log_max_size: str = _describe("a size such as '10m'", pattern=r"^[1-9][0-9]*[kmg]$")
    docker_log_max_files: int = _describe("a number of files, 1 or more", ge=1, le=100)
    docker_address_pool: IPv4Network = _describe("a private network such as '172.24.0.0/14'")
    docker_insecure_registries: tuple[str, ...] = _describe("a list of host:port, e.g. ['registry.lan:5000']")
    stack_dir: str = _describe("an absolute path such as '/opt/mediabox'", pattern=r"^/[\w./-]+$")
    stack_health_timeout_s: int = _describe("seconds, 30 or more", ge=30, le=3600)
    health_check_interval_s: int = _describe("seconds between 2 and 300", ge=2, le=300)
    image_registry: str | None = _describe("None or a registry host[:port] such as 'registry.lan:5000'",
                                           pattern=r"^[\w.-]+(:\d+)?$")
    image_overrides: dict[str, str] = _describe("a map of service name to image, e.g. "
                                                "{'jellyfin': 'registry.lan:5000/jellyfin/jellyfin:10.10.7'}")
    updater_monitor_only: bool = _describe("True or False")
    updater_schedule: str = _describe("a 6-field cron expression such as '0 0 4 * * *'",
                                      pattern=r"^\S+( \S+){5}$")
    vpn_env: dict[str, str] = _describe("a map of gluetun variable to value, e.g. {'SERVER_COUNTRIES': 'Netherlands'}")

    # Docker network and services
    docker_subnet: IPv4Network = _describe("a private /16-/24 network such as '172.20.0.0/16'")
    docker_ip_range: IPv4Network = _describe("a part of docker_subnet for automatic addresses, e.g. "
                                             "'172.20.128.0/17'")
    service_ports: dict[str, int] = _describe("a map of service name to host port, e.g. {'sonarr': 8989}")
    service_ips: dict[str, IPv4Address] = _describe("a map of service name to address in docker_subnet")
    service_memory_mb: dict[str, int] = _describe("a map of service name to memory limit in MB")
    service_environment: dict[str, dict[str, str]] = _describe("a map of service name to a map of variable to "
                                                               "value, e.g. {'jellyfin': {'JELLYFIN_LOG_DIR': '/log'}}")

    # VPN
    vpn_provider: str = _describe("a gluetun provider name such as 'custom', 'mullvad' or 'protonvpn'",
                                  min_length=1)
    vpn_type: Literal["wireguard", "openvpn"] = _describe("'wireguard' or 'openvpn'")

    # Jellyfin
    jellyfin_hwaccel: Literal["qsv", "vaapi", "none"] = _describe("'qsv', 'vaapi' or 'none'")

    @field_validator("stages", mode="before")
    @classmethod
    def _split_stages(cls, value: Any) -> Any:
        return tuple(s.strip() for s in value.split(",") if s.strip()) if isinstance(value, str) else value

    @field_validator("pool_disks", "pool_wipe_serials", "guest_lxc_raw", "docker_insecure_registries", mode="before")
    @classmethod
    def _one_string_is_a_list(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def enabled(self, name: str) -> bool:
        explicit = getattr(self, f"{name}_enabled")
        return (self.profile in SERVICES[name].profiles) if explicit is None else explicit

    def enabled_services(self) -> list[Service]:
        return [s for s in SERVICES.values() if self.enabled(s.name)]

    def port(self, service: Service) -> int | None:
        return self.service_ports.get(service.name, service.port)

    def ip(self, service: Service) -> IPv4Address:
        return self.service_ips.get(service.name, self.docker_subnet.network_address + service.ip_suffix)

    def memory_mb(self, service: Service) -> int:
        return self.service_memory_mb.get(service.name, service.memory_mb)

    @property
    def nas_allowed(self) -> bool:
        """nas_enabled, or the profile's answer when it is None (the 8gb box has no RAM to spare)."""
        return self.profile == "16gb" if self.nas_enabled is None else self.nas_enabled

    @property
    def guest_memory(self) -> int:
        """guest_memory_mb, or the profile's size when it is None."""
        return self.guest_memory_mb or PROFILE_GUEST_MEMORY_MB[self.profile]

    def memory_plan(self) -> Allocation:
        rows = [(s.name, self.memory_mb(s)) for s in self.enabled_services()]
        return Allocation([("guest system + docker", GUEST_BASE_MEMORY_MB), *rows])


# <service>_enabled for every catalog entry: None follows the profile preset.
Settings = create_model(
    "Settings",
    __base__=_SettingsBase,
    **{f"{name}_enabled": (bool | None, _describe("True, False, or None to follow the profile preset"))
       for name in SERVICES},
)

KNOWN_KEYS = frozenset(Settings.model_fields)


# --------------------------------------------------------------------------- turning errors into problems

def _is_pyinfra_key(key: str) -> bool:
    return key.startswith("_") or key in PYINFRA_KEYS


def _unknown_key_problem(key: str, value: Any) -> Problem:
    close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1, cutoff=0.75)
    fix = f"did you mean '{close[0]}'?" if close else "remove it"
    return Problem(key, value, "unknown setting", f"{fix} Every setting is listed in group_data/all.py")


def _problems_from_validation(error: ValidationError) -> list[Problem]:
    problems = []
    for err in error.errors():
        key = str(err["loc"][0])
        sub = "".join(f"[{part!r}]" for part in err["loc"][1:])
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            problems.append(_unknown_key_problem(key, value))
            continue
        if err["type"] == "missing":
            problems.append(Problem(key, None, "missing", "restore it from group_data/all.py"))
            continue
        described = Settings.model_fields[key].description
        fix = f"set {key}{sub} to {described}" if described else "see group_data/all.py"
        problems.append(Problem(key + sub, value, err["msg"].rstrip("."), fix))
    return problems


def defaults() -> dict[str, Any]:
    """group_data/all.py's values: the documented defaults."""
    namespace: dict[str, Any] = {}
    exec(compile(ALL_PY.read_text(), str(ALL_PY), "exec"), namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def parse(data: dict[str, Any]) -> tuple[Settings | None, list[Problem]]:
    """Validate one host's data: (settings, problems).

    With bad fields, the settings are those of the data with each bad value replaced by its default,
    so the checks across fields still run and every problem is found in one pass.
    """
    mine = {k: v for k, v in data.items() if not _is_pyinfra_key(k)}
    try:
        return Settings.model_validate(mine), []
    except ValidationError as error:
        problems = _problems_from_validation(error)
        bad = {str(err["loc"][0]) for err in error.errors()}
    fallback = defaults()
    patched = {k: (fallback[k] if k in bad else v) for k, v in mine.items() if k in KNOWN_KEYS}
    patched.update({k: fallback[k] for k in bad if k in fallback and k not in patched})
    try:
        return Settings.model_validate(patched), problems
    except ValidationError:
        return None, problems
