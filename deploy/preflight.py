"""Preflight: read the box and refuse, with every reason at once, when it cannot hold the settings.

Changes nothing. Reads over SSH (memory, CPUs, disks by id, /dev/dri, packages) and from the Proxmox
API (version, nodes); the run stops before any operation when a check fails.
"""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.hardware import Cpus, Memory
from pyinfra.facts.server import LinuxDistribution

from deploy import RunRefused, pve_api
from facts.disks import DisksById
from facts.hardware import GpuRenderNodes
from mediabox import pve, readahead
from mediabox.run import Run
from mediabox.settings import Problem, Settings, render

# devN passthrough (the iGPU into an unprivileged guest) arrived in Proxmox VE 8.1.
MIN_PVE_VERSION = (8, 1)


def apply(run: Run, settings: Settings) -> None:
    roles = run.roles[host.name]
    problems: list[Problem] = []
    if "proxmox" in roles:
        problems += check_proxmox_host(run, settings)
    if roles & {"docker_guests", "nas_guests"}:
        problems += check_guest()
    if problems:
        raise RunRefused("\n" + render(problems, f"preflight problem(s) on {host.name}"))


def check_proxmox_host(run: Run, s: Settings) -> list[Problem]:
    problems = _check_api(run, s)
    guests = [run.settings[name] for name in run.hosts_in("docker_guests") + run.hosts_in("nas_guests")]
    readahead.will_read([(Memory, {}), (Cpus, {}), (DisksById, {}), (GpuRenderNodes, {}), (DebPackages, {})])

    memory_mb = host.get_fact(Memory) or 0
    wanted_mb = s.host_memory_reserve_mb + sum(g.guest_memory for g in guests)
    if memory_mb < wanted_mb:
        problems.append(Problem("guest_memory_mb", [g.guest_memory for g in guests],
                                f"the host has {memory_mb} MB; the guests plus host_memory_reserve_mb "
                                f"({s.host_memory_reserve_mb}) need {wanted_mb} MB",
                                "lower guest_memory_mb or disable services"))
    cpus = host.get_fact(Cpus) or 0
    for g in guests:
        if g.guest_cores > cpus:
            problems.append(Problem("guest_cores", g.guest_cores, f"the host has {cpus} CPUs",
                                    f"use at most {cpus}"))

    disks = host.get_fact(DisksById)
    present = ", ".join(sorted(disks)) or "none"
    for disk in s.pool_disks:
        if disk not in disks:
            problems.append(Problem("pool_disks", disk, f"no such disk on {host.name} (by-id disks: {present})",
                                    "copy the name from `ls -l /dev/disk/by-id/` on the host"))

    if any(g.enabled("jellyfin") and g.jellyfin_hwaccel != "none" for g in guests):
        if not host.get_fact(GpuRenderNodes):
            problems.append(Problem("jellyfin_hwaccel", s.jellyfin_hwaccel, f"{host.name} has no /dev/dri render "
                                    "node (no iGPU driver loaded?)",
                                    "load the i915 driver on the host, or set jellyfin_hwaccel = 'none'"))

    packages = host.get_fact(DebPackages) or {}
    versions = {name: sorted(packages[name])[-1] for name in ("pve-manager", "lxc-pve") if name in packages}
    logger.info(f"{host.print_prefix}preflight: {memory_mb} MB, {cpus} CPUs, {len(disks)} disks by id, "
                + (", ".join(f"{k} {v}" for k, v in versions.items()) or "no Proxmox packages (lab stand-in)"))
    return problems


def _check_api(run: Run, s: Settings) -> list[Problem]:
    address = host.data.get("ssh_hostname") or host.name
    guests = [run.settings[name] for name in run.hosts_in("docker_guests")]
    limits = pve.auth_limits(s, guests)
    if limits:
        return limits
    try:
        api = pve_api(run, s)
        version = api.version.get()["version"]
        nodes = [node["node"] for node in api.nodes.get()]
    except pve.API_ERRORS as error:
        return [pve.connection_problem(error, s, address)]
    problems = []
    if _version_tuple(version) < MIN_PVE_VERSION:
        problems.append(Problem("pve_api_host", s.pve_api_host or address, f"Proxmox VE {version} is too old",
                                "upgrade to Proxmox VE 8.1 or newer (device passthrough for the iGPU)"))
    if s.pve_node not in nodes:
        problems.append(Problem("pve_node", s.pve_node, f"no such node (the cluster has {', '.join(nodes)})",
                                f"set pve_node to one of {', '.join(nodes)}"))
    logger.info(f"{host.print_prefix}preflight: Proxmox VE {version} at {pve.api_url(s, address)}")
    return problems


def check_guest() -> list[Problem]:
    distro = host.get_fact(LinuxDistribution) or {}
    name, major = distro.get("name"), distro.get("major")
    if (name, major) != ("Debian", 12):
        return [Problem("guest_template", f"{name} {major}", "the engine supports Debian 12 guests",
                        "recreate the guest from a Debian 12 template")]
    return []


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split(".")[:2] if part.isdigit())
