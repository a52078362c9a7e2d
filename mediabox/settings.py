"""The typed settings model: every key of group_data, validated once, every error listed at once.

Defaults live in group_data/all.py (the public, commented list); this model has none of its own,
so the two cannot drift apart (tests/unit/test_group_data.py checks they name the same keys).
Service defaults (port, address, memory) live in the catalog and are overridden by the
service_ports, service_ips and service_memory_mb maps.
"""

from __future__ import annotations

import difflib
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from mediabox.catalog import GUEST_BASE_MEMORY_MB, PROFILE_GUEST_MEMORY_MB, SERVICES, Allocation, Service

ALL_PY = Path(__file__).resolve().parent.parent / "group_data" / "all.py"
STAGES = ("preflight", "host", "guests", "docker", "stack", "wire", "verify")
ROLES = ("proxmox", "docker_guests")
BY_ID_RE = re.compile(r"^/dev/disk/by-id/(ata|nvme|scsi|usb|virtio|mmc)-[^/]+$")

# Keys pyinfra itself reads from host data: connector options and global argument defaults.
_CONNECTOR_PREFIXES = ("ssh_", "docker_identifier", "docker_platform", "docker_architecture",
                       "fake_", "vagrant_", "chroot_", "terraform_", "podman_")


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

    # Proxmox host
    pve_api_host: str | None = _describe("None (use the SSH address) or the API's host name or IP")
    pve_api_port: int = _describe("the API port, 8006 on Proxmox", ge=1, le=65535)
    pve_node: str = _describe("the node name shown by `pvecm nodes` or in the web UI, e.g. 'pve'", min_length=1)
    pve_auth: Literal["password", "token"] = _describe("'password' (root@pam ticket) or 'token'")
    pve_user: str = _describe("a user such as 'root@pam'", pattern=r"^[^@\s]+@[^@\s]+$")
    pve_ca_file: str | None = _describe("the path of a copy of the host's /etc/pve/pve-root-ca.pem")
    host_memory_reserve_mb: int = _describe("MB kept for Proxmox itself, e.g. 1024", ge=256)

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

    # Docker network and services
    docker_subnet: IPv4Network = _describe("a private /16-/24 network such as '172.20.0.0/16'")
    docker_ip_range: IPv4Network = _describe("a part of docker_subnet for automatic addresses, e.g. "
                                             "'172.20.128.0/17'")
    service_ports: dict[str, int] = _describe("a map of service name to host port, e.g. {'sonarr': 8989}")
    service_ips: dict[str, IPv4Address] = _describe("a map of service name to address in docker_subnet")
    service_memory_mb: dict[str, int] = _describe("a map of service name to memory limit in MB")

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

    @field_validator("pool_disks", "pool_wipe_serials", mode="before")
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
    return key.startswith("_") or key.startswith(_CONNECTOR_PREFIXES)


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


# --------------------------------------------------------------------------- checks across fields and hosts

def check_host(s: Settings, roles: set[str], ssh_hostname: str | None) -> list[Problem]:
    """Checks of one host's settings that one field alone cannot express."""
    problems: list[Problem] = []
    problems += _check_run(s)
    problems += _check_services(s)
    if "proxmox" in roles:
        problems += _check_proxmox(s)
    if "docker_guests" in roles:
        problems += _check_guest(s, ssh_hostname)
    return problems


def _check_run(s: Settings) -> list[Problem]:
    problems = []
    unknown = [name for name in s.stages if name not in STAGES]
    if unknown or not s.stages:
        problems.append(Problem("stages", ",".join(s.stages), f"unknown stage(s) {unknown}" if unknown else "empty",
                                f"choose from {','.join(STAGES)}"))
    try:
        zoneinfo.ZoneInfo(s.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(Problem("timezone", s.timezone, "not a known time zone",
                                "use an IANA name such as 'Europe/Berlin' or 'America/New_York'"))
    if not os.path.isabs(s.storage_mount):
        problems.append(Problem("storage_mount", s.storage_mount, "not an absolute path", "use e.g. '/mnt/storage'"))
    if s.apt_proxy is not None and not re.match(r"^https?://[^/\s]+(:\d+)?/?$", s.apt_proxy):
        problems.append(Problem("apt_proxy", s.apt_proxy, "not an http(s) URL",
                                "use None or e.g. 'http://192.168.1.5:3142'"))
    return problems


def _check_services(s: Settings) -> list[Problem]:
    problems = []
    for key in ("service_ports", "service_ips", "service_memory_mb"):
        for name in getattr(s, key):
            if name not in SERVICES:
                close = difflib.get_close_matches(name, list(SERVICES), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(SERVICES)}"
                problems.append(Problem(f"{key}[{name!r}]", getattr(s, key)[name], "no such service", hint))
    enabled = s.enabled_services()

    ports: dict[int, str] = {}
    for svc in enabled:
        port = s.port(svc)
        if port is None:
            continue
        if not 1 <= port <= 65535:
            problems.append(Problem(f"service_ports[{svc.name!r}]", port, "not a TCP port", "use 1 to 65535"))
        elif port in ports:
            # Blame the service whose port the user set, not the one keeping its default.
            moved, other = (svc.name, ports[port]) if svc.name in s.service_ports else (ports[port], svc.name)
            problems.append(Problem(f"service_ports[{moved!r}]", port, f"{moved} and {other} both publish port {port}",
                                    f"give {moved} a free port in service_ports"))
        else:
            ports[port] = svc.name

    if not s.docker_ip_range.subnet_of(s.docker_subnet):
        problems.append(Problem("docker_ip_range", str(s.docker_ip_range),
                                f"not inside docker_subnet {s.docker_subnet}",
                                f"use a part of {s.docker_subnet}, e.g. its upper half"))
    taken: dict[IPv4Address, str] = {}
    gateway = s.docker_subnet.network_address + 1
    for svc in enabled:
        ip, key = s.ip(svc), f"service_ips[{svc.name!r}]"
        if ip not in s.docker_subnet:
            problems.append(Problem(key, str(ip), f"outside docker_subnet {s.docker_subnet}",
                                    f"use an address inside {s.docker_subnet}"))
        elif ip in (s.docker_subnet.network_address, gateway, s.docker_subnet.broadcast_address):
            first, last = gateway + 1, s.docker_ip_range.network_address - 1
            problems.append(Problem(key, str(ip), "the network, gateway or broadcast address",
                                    f"use an address between {first} and {last}"))
        elif ip in s.docker_ip_range:
            problems.append(Problem(key, str(ip), f"inside docker_ip_range {s.docker_ip_range}, where Docker hands "
                                    "out automatic addresses", f"use an address outside {s.docker_ip_range}"))
        elif ip in taken:
            moved, other = (svc.name, taken[ip]) if svc.name in s.service_ips else (taken[ip], svc.name)
            problems.append(Problem(f"service_ips[{moved!r}]", str(ip), f"{moved} and {other} both use {ip}",
                                    f"give {moved} a free address in service_ips"))
        else:
            taken[ip] = svc.name

    for svc in enabled:
        for needed in svc.requires:
            if not s.enabled(needed):
                problems.append(Problem(f"{needed}_enabled", getattr(s, f"{needed}_enabled"),
                                        f"{svc.name} needs {needed}",
                                        f"set {needed}_enabled = True, or {svc.name}_enabled = False"))
        mb = s.memory_mb(svc)
        if mb < svc.min_memory_mb:
            problems.append(Problem(f"service_memory_mb[{svc.name!r}]", mb,
                                    f"below the {svc.min_memory_mb} MB {svc.title} needs",
                                    f"give it {svc.min_memory_mb} MB or more, or disable it"))
    return problems


def _check_proxmox(s: Settings) -> list[Problem]:
    problems = []
    if len(s.pool_disks) != 2:
        problems.append(Problem("pool_disks", list(s.pool_disks), f"{len(s.pool_disks)} disk(s) listed; "
                                "the RAID1 pool needs exactly two", "list the two pool disks by /dev/disk/by-id path"))
    seen: set[str] = set()
    for disk in s.pool_disks:
        if not BY_ID_RE.match(disk):
            problems.append(Problem("pool_disks", disk, "not a /dev/disk/by-id path (kernel names like /dev/sda can "
                                    "change between boots)", "run `ls -l /dev/disk/by-id/` on the host and use the "
                                    "ata-/nvme- name of the disk"))
        if disk in seen:
            problems.append(Problem("pool_disks", disk, "listed twice", "list two different disks"))
        seen.add(disk)
    serials = {disk_serial(d) for d in s.pool_disks}
    for serial in s.pool_wipe_serials:
        if serial not in serials:
            problems.append(Problem("pool_wipe_serials", serial, "not the serial of a disk in pool_disks",
                                    f"use one of {sorted(serials)} or remove it"))
    if s.pve_ca_file is None:
        problems.append(Problem("pve_ca_file", None, "the API's TLS certificate cannot be verified",
                                "copy /etc/pve/pve-root-ca.pem from the host and set pve_ca_file to its path"))
    elif not os.path.isfile(os.path.expanduser(s.pve_ca_file)):
        problems.append(Problem("pve_ca_file", s.pve_ca_file, "no such file",
                                "copy /etc/pve/pve-root-ca.pem from the host to that path"))
    return problems


def _check_guest(s: Settings, ssh_hostname: str | None) -> list[Problem]:
    problems = []
    if s.guest_ip is None:
        return [Problem("guest_ip", None, "a Docker guest needs a static address",
                        "set guest_ip on the guest in the inventory, e.g. '192.168.1.20/24'")]
    if s.guest_gateway is None:
        problems.append(Problem("guest_gateway", None, "a Docker guest needs a gateway",
                                "set guest_gateway, e.g. '192.168.1.1'"))
    elif s.guest_gateway not in s.guest_ip.network or s.guest_gateway == s.guest_ip.ip:
        problems.append(Problem("guest_gateway", str(s.guest_gateway), f"not a gateway inside {s.guest_ip.network}",
                                f"use the router's address in {s.guest_ip.network}"))
    if ssh_hostname and ssh_hostname != str(s.guest_ip.ip):
        problems.append(Problem("ssh_hostname", ssh_hostname, f"differs from guest_ip {s.guest_ip.ip}",
                                "connect to the guest at its guest_ip address"))
    if s.guest_ip.network.overlaps(s.docker_subnet):
        problems.append(Problem("docker_subnet", str(s.docker_subnet), f"overlaps the LAN {s.guest_ip.network}",
                                "pick another private range such as '172.20.0.0/16'"))
    plan = s.memory_plan()
    if plan.total_mb > s.guest_memory:
        table = _indent(plan.table(s.guest_memory))
        problems.append(Problem("guest_memory_mb", s.guest_memory,
                                f"the enabled services need {plan.total_mb} MB:\n{table}\n",
                                "raise guest_memory_mb, lower service_memory_mb, or disable services"))
    return problems


def _indent(text: str) -> str:
    return "\n".join("       " + line for line in text.splitlines())


def check_inventory(hosts: list[tuple[str, Settings, set[str], str | None]]) -> list[Problem]:
    """Checks across hosts: unique guest ids, names and addresses, one secrets file."""
    problems: list[Problem] = []
    guests = [(name, s) for name, s, roles, _ in hosts if "docker_guests" in roles]
    for key in ("guest_vmid", "guest_hostname"):
        problems += _duplicates(key, [(name, getattr(s, key)) for name, s in guests])
    problems += _duplicates("guest_ip", [(name, s.guest_ip.ip) for name, s in guests if s.guest_ip])
    pve_addresses = {addr for _, _, roles, addr in hosts if "proxmox" in roles and addr}
    for name, s in guests:
        if s.guest_ip and str(s.guest_ip.ip) in pve_addresses:
            problems.append(Problem("guest_ip", str(s.guest_ip), "the Proxmox host's own address",
                                    "give the guest a free address on the LAN", [name]))
    if len({s.secrets_file for _, s, _, _ in hosts}) > 1:
        problems.append(Problem("secrets_file", sorted({s.secrets_file for _, s, _, _ in hosts}),
                                "differs between hosts", "set it once, in group_data/all.py"))
    for name, _, roles, _ in hosts:
        if not roles:
            problems.append(Problem("inventory", name, "the host is in no role group",
                                    f"put it in one of the groups {', '.join(ROLES)}"))
    return problems


def _duplicates(key: str, values: list[tuple[str, Any]]) -> list[Problem]:
    owners: dict[Any, list[str]] = {}
    for host_name, value in values:
        owners.setdefault(value, []).append(host_name)
    return [Problem(key, str(value), "used by more than one guest", f"give each guest its own {key}", names)
            for value, names in owners.items() if len(names) > 1]


def merge(problems: list[tuple[str, Problem]]) -> list[Problem]:
    """The same problem on several hosts becomes one line naming them all, in first-seen order."""
    merged: dict[tuple[str, str, str], Problem] = {}
    for host_name, p in problems:
        key = (p.key, repr(p.value), p.message)
        if key not in merged:
            merged[key] = Problem(p.key, p.value, p.message, p.fix, list(p.hosts))
        if host_name and host_name not in merged[key].hosts:
            merged[key].hosts.append(host_name)
    return list(merged.values())
