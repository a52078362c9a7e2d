"""Restore (restore.py, not a stage of deploy.py): services' appdata brought back from a read-only snapshot, in
order across hosts: the services stop in their Docker guests, the Proxmox host snapshots appdata as it is and
copies the chosen snapshot's folders back, and the services start again and are waited for until healthy."""

from __future__ import annotations

from pyinfra import host

from mediabox.run import Run
from mediabox.settings import Settings
from operations import docker, storage


def services(s: Settings) -> list[str]:
    """The services (compose names) a restore covers in a guest with these settings."""
    return [svc.host_name for svc in s.enabled_services() if s.restore_service in ("all", svc.name)]


def apply(run: Run, s: Settings) -> None:
    roles = run.roles[host.name]
    guests = [run.settings[name] for name in run.hosts_in("docker_guests")]
    in_guest = "docker_guests" in roles and services(s)
    if in_guest:
        docker.compose_services(name="Stopped for the restore", path=s.stack_dir, services=services(s), running=False)
    if "proxmox" in roles:
        folders = sorted({svc.name for guest in guests for svc in guest.enabled_services()
                          if s.restore_service in ("all", svc.name)})
        storage.appdata_restore(name=f"Appdata restored from {s.restore_snapshot}", mount=s.storage_mount,
                                services=folders, snapshot=s.restore_snapshot, every=s.restore_service == "all")
    if in_guest:
        docker.compose_services(name="Started again after the restore", path=s.stack_dir, services=services(s),
                                timeout_s=s.stack_health_timeout_s)
