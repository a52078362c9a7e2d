"""The guests stage: the template and each Docker guest's container, through the Proxmox API.

Runs on hosts of the `proxmox` group: every container of the `docker_guests` group is created or
converged there (only the keys that differ), tagged as the engine's, and started.
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host, inventory

from deploy import pve_api
from mediabox import lxc
from mediabox.run import Run
from mediabox.settings import Settings
from operations import proxmox

# Where storage `local` keeps container templates on the host.
LOCAL_TEMPLATES = "/var/lib/vz/template/cache"


def apply(run: Run, s: Settings) -> None:
    if "proxmox" not in run.roles[host.name]:
        return
    api = pve_api(run, s)
    templates = {(g.guest_template, g.guest_template_url, g.guest_template_sha512)
                 for g in (run.settings[name] for name in run.hosts_in("docker_guests"))}
    for template, url, sha512 in sorted(templates, key=str):
        proxmox.template_present(name=f"Template {template}", api=api, node=s.pve_node, storage="local",
                                 template=template, url=url, sha512=sha512)
    for name in run.hosts_in("docker_guests"):
        guest = run.settings[name]
        config = lxc.wanted(guest, s, _public_key(name))
        proxmox.container(name=f"Container {guest.guest_vmid} ({name})", api=api, node=s.pve_node, config=config,
                          restart=guest.guest_restart_for_changes,
                          template_path=f"{LOCAL_TEMPLATES}/{guest.guest_template}")
        proxmox.container_running(name=f"Container {guest.guest_vmid} running", api=api, node=s.pve_node,
                                  vmid=guest.guest_vmid)


def _public_key(guest_name: str) -> str | None:
    """The public half of the key the engine logs in to the guest with, put into the guest at creation."""
    key = inventory.get_host(guest_name).data.get("ssh_key")
    public = Path(f"{key}.pub").expanduser() if key else None
    return public.read_text().strip() if public and public.is_file() else None
