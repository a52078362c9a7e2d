"""Checks of settings that one field alone cannot express: across fields of a host, and across hosts.

Each returns Problems (key, bad value, what is wrong, the fix); mediabox/run.py gathers them all.
"""

from __future__ import annotations

import difflib
import os
import re
import zoneinfo
from ipaddress import IPv4Address
from typing import Any

from mediabox.catalog import SERVICES, Service
from mediabox.layout import SUBVOLUMES
from mediabox.lxc import RAW_LXC_RE
from mediabox.settings import BY_ID_RE, ROLES, STAGES, Problem, Settings, disk_serial


def check_host(s: Settings, roles: set[str], ssh_hostname: str | None) -> list[Problem]:
    """Checks of one host's settings that one field alone cannot express."""
    problems: list[Problem] = []
    problems += _check_run(s)
    problems += _check_services(s)
    if "proxmox" in roles:
        problems += _check_proxmox(s)
    if "docker_guests" in roles:
        problems += _check_guest(s, ssh_hostname)
        problems += _check_docker_guest(s)
    if "nas_guests" in roles:
        problems += _check_guest(s, ssh_hostname)
        problems += _check_nas(s)
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
    if s.restore_service not in (None, "all") and s.restore_service not in {svc.name for svc in s.enabled_services()}:
        problems.append(Problem("restore_service", s.restore_service, "not an enabled service",
                                "name one of " + ", ".join(svc.name for svc in s.enabled_services()) + ", or 'all'"))
    if not os.path.isabs(s.storage_mount):
        problems.append(Problem("storage_mount", s.storage_mount, "not an absolute path", "use e.g. '/mnt/storage'"))
    problems += _check_export(s)
    if s.apt_proxy is not None and not re.match(r"^https?://[^/\s]+(:\d+)?/?$", s.apt_proxy):
        problems.append(Problem("apt_proxy", s.apt_proxy, "not an http(s) URL",
                                "use None or e.g. 'http://192.168.1.5:3142'"))
    return problems


def _check_export(s: Settings) -> list[Problem]:
    if s.export_target is None:
        return []
    target = os.path.normpath(s.export_target)
    if not os.path.isabs(s.export_target) or target == "/":
        return [Problem("export_target", s.export_target, "not an absolute path below /",
                        "use None or e.g. '/mnt/backup' (a disk's mount point on the Proxmox host)")]
    inside = [name for name in SUBVOLUMES if os.path.commonpath([target, f"{s.storage_mount}/{name}"])
              == os.path.normpath(f"{s.storage_mount}/{name}")]
    if inside or target == os.path.normpath(s.storage_mount):
        return [Problem("export_target", s.export_target, f"inside the pool's {inside[0] if inside else 'mount'}",
                        "export to another disk's mount point, e.g. '/mnt/backup'")]
    return []


def _check_services(s: Settings) -> list[Problem]:
    enabled = s.enabled_services()
    return _check_overrides(s) + _check_ports(s, enabled) + _check_addresses(s, enabled) + _check_needs(s, enabled)


def _check_overrides(s: Settings) -> list[Problem]:
    problems = []
    for key in ("service_ports", "service_ips", "service_memory_mb", "service_environment", "image_overrides"):
        for name, value in getattr(s, key).items():
            if name not in SERVICES:
                close = difflib.get_close_matches(name, list(SERVICES), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(SERVICES)}"
                problems.append(Problem(f"{key}[{name!r}]", value, "no such service", hint))
    return problems


def _blame(service: str, holder: str, overridden: dict) -> tuple[str, str]:
    """Of two services that clash, the one whose value the user set comes first: that one moves."""
    return (service, holder) if service in overridden else (holder, service)


def _check_ports(s: Settings, enabled: list[Service]) -> list[Problem]:
    problems, holders = [], {}
    for svc in enabled:
        port = s.port(svc)
        if port is None:
            continue
        if not 1 <= port <= 65535:
            problems.append(Problem(f"service_ports[{svc.name!r}]", port, "not a TCP port", "use 1 to 65535"))
        elif port in holders:
            moved, other = _blame(svc.name, holders[port], s.service_ports)
            problems.append(Problem(f"service_ports[{moved!r}]", port, f"{moved} and {other} both publish port {port}",
                                    f"give {moved} a free port in service_ports"))
        else:
            holders[port] = svc.name
    return problems


def _check_addresses(s: Settings, enabled: list[Service]) -> list[Problem]:
    problems = []
    if not s.docker_ip_range.subnet_of(s.docker_subnet):
        problems.append(Problem("docker_ip_range", str(s.docker_ip_range),
                                f"not inside docker_subnet {s.docker_subnet}",
                                f"use a part of {s.docker_subnet}, e.g. its upper half"))
    holders: dict[IPv4Address, str] = {}
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
        elif ip in holders:
            moved, other = _blame(svc.name, holders[ip], s.service_ips)
            problems.append(Problem(f"service_ips[{moved!r}]", str(ip), f"{moved} and {other} both use {ip}",
                                    f"give {moved} a free address in service_ips"))
        else:
            holders[ip] = svc.name
    return problems


def _check_needs(s: Settings, enabled: list[Service]) -> list[Problem]:
    """Services a service requires, and each service's minimum memory."""
    problems = []
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
    if s.pve_auth == "ssh":
        pass  # pvesh over SSH: the host key is what is verified
    elif s.pve_ca_file is None and s.pve_tls_fingerprint is None:
        problems.append(Problem("pve_ca_file", None, "the API's TLS certificate cannot be verified",
                                "copy /etc/pve/pve-root-ca.pem from the host and set pve_ca_file to its path, or "
                                "set pve_tls_fingerprint (the web UI shows it under the node's Certificates)"))
    elif s.pve_ca_file is not None and s.pve_tls_fingerprint is not None:
        problems.append(Problem("pve_tls_fingerprint", s.pve_tls_fingerprint, "set together with pve_ca_file",
                                "keep one: the CA file, or the fingerprint"))
    elif s.pve_ca_file is not None and not os.path.isfile(os.path.expanduser(s.pve_ca_file)):
        problems.append(Problem("pve_ca_file", s.pve_ca_file, "no such file",
                                "copy /etc/pve/pve-root-ca.pem from the host to that path"))
    return problems


def _check_guest(s: Settings, ssh_hostname: str | None) -> list[Problem]:
    """A guest's address, gateway and template (Docker and NAS guests alike)."""
    problems = []
    if s.guest_ip is None:
        return [Problem("guest_ip", None, "a guest needs a static address",
                        "set guest_ip on the guest in the inventory, e.g. '192.168.1.20/24'")]
    if s.guest_gateway is None:
        problems.append(Problem("guest_gateway", None, "a guest needs a gateway",
                                "set guest_gateway, e.g. '192.168.1.1'"))
    elif s.guest_gateway not in s.guest_ip.network or s.guest_gateway == s.guest_ip.ip:
        problems.append(Problem("guest_gateway", str(s.guest_gateway), f"not a gateway inside {s.guest_ip.network}",
                                f"use the router's address in {s.guest_ip.network}"))
    if s.guest_template_url and not s.guest_template_sha512:
        problems.append(Problem("guest_template_sha512", None, "guest_template_url is set without a checksum",
                                "set guest_template_sha512 to the file's SHA-512 (sha512sum), or guest_template_url "
                                "= None to use Proxmox's signed template index"))
    for line in s.guest_lxc_raw:
        if not RAW_LXC_RE.match(line):
            problems.append(Problem("guest_lxc_raw", line, "not a raw lxc line",
                                    "write it as in /etc/pve/lxc/<vmid>.conf: 'lxc.key: value'"))
    if ssh_hostname and ssh_hostname != str(s.guest_ip.ip):
        problems.append(Problem("ssh_hostname", ssh_hostname, f"differs from guest_ip {s.guest_ip.ip}",
                                "connect to the guest at its guest_ip address"))
    return problems


def _check_docker_guest(s: Settings) -> list[Problem]:
    problems = []
    if s.guest_ip and s.guest_ip.network.overlaps(s.docker_subnet):
        problems.append(Problem("docker_subnet", str(s.docker_subnet), f"overlaps the LAN {s.guest_ip.network}",
                                "pick another private range such as '172.20.0.0/16'"))
    for other, network in (("docker_subnet", s.docker_subnet), ("the LAN", s.guest_ip and s.guest_ip.network)):
        if network and s.docker_address_pool.overlaps(network):
            problems.append(Problem("docker_address_pool", str(s.docker_address_pool), f"overlaps {other} {network}",
                                    "pick a private range apart from both, such as '172.24.0.0/14'"))
    for variable in s.vpn_env:
        if any(word in variable.upper() for word in ("KEY", "PASSWORD", "SECRET", "TOKEN")) and \
                not variable.upper().endswith("PUBLIC_KEY"):
            problems.append(Problem(f"vpn_env[{variable!r}]", "(hidden)", "looks like a secret",
                                    "put VPN keys and passwords in the secrets file (vpn_wireguard_private_key, "
                                    "vpn_openvpn_user, vpn_openvpn_password), never in the settings"))
    plan = s.memory_plan()
    if plan.total_mb > s.guest_memory:
        table = _indent(plan.table(s.guest_memory))
        problems.append(Problem("guest_memory_mb", s.guest_memory,
                                f"the enabled services need {plan.total_mb} MB:\n{table}\n",
                                "raise guest_memory_mb, lower service_memory_mb, or disable services"))
    return problems


def _check_nas(s: Settings) -> list[Problem]:
    problems = []
    if not s.nas_allowed:
        problems.append(Problem("nas_enabled", s.nas_enabled, f"the inventory lists a NAS guest, but profile "
                                f"'{s.profile}' leaves it off (its RAM goes to the Docker guest)",
                                "set nas_enabled = True, or take the host out of the nas_guests group"))
    if not s.nas_shares:
        problems.append(Problem("nas_shares", {}, "no shares", "share at least one folder, e.g. {'media': 'media'}"))
    for share, folder in s.nas_shares.items():
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", share) or share.lower() in ("global", "homes", "printers"):
            problems.append(Problem(f"nas_shares[{share!r}]", folder, "not a usable share name",
                                    "use letters, digits, - and _ (not global, homes or printers)"))
        parts = folder.split("/")
        if folder.startswith("/") or any(part in ("", ".", "..") for part in parts):
            problems.append(Problem(f"nas_shares[{share!r}]", folder, "not a folder inside the data subvolume",
                                    "give a relative path such as 'media' or 'media/movies'"))
    return problems


def _indent(text: str) -> str:
    return "\n".join("       " + line for line in text.splitlines())


def check_inventory(hosts: list[tuple[str, Settings, set[str], str | None]]) -> list[Problem]:
    """Checks across hosts: unique guest ids, names and addresses, one secrets file."""
    problems: list[Problem] = []
    guests = [(name, s) for name, s, roles, _ in hosts if roles & {"docker_guests", "nas_guests"}]
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
