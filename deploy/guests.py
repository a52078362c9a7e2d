"""The guests stage: the template and each guest's container through the Proxmox API, then the NAS
guest's Samba server over SSH.

On hosts of the `proxmox` group, every container of the `docker_guests` and `nas_guests` groups is
created or converged there (only the keys that differ), tagged as the engine's, and started. On hosts
of the `nas_guests` group, Samba shares folders of the data subvolume (mounted at /data) on the LAN.
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host, inventory
from pyinfra.api.util import get_template
from pyinfra.facts.server import Mounts
from pyinfra.operations import systemd

from deploy import RunRefused, apt_proxy, pve_api
from mediabox import lxc
from mediabox.run import Run
from mediabox.settings import Settings
from operations import proxmox, samba, system

# Where storage `local` keeps container templates on the host.
LOCAL_TEMPLATES = "/var/lib/vz/template/cache"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "nas"

# Each guest role and how its container config is made.
KINDS = {"docker_guests": lxc.wanted, "nas_guests": lxc.wanted_nas}


def apply(run: Run, s: Settings) -> None:
    roles = run.roles[host.name]
    if "proxmox" in roles:
        _containers(run, s)
    if "nas_guests" in roles:
        _samba(run, s)


def _containers(run: Run, s: Settings) -> None:
    api = pve_api(run, s)
    guests = [(name, role, run.settings[name]) for role in KINDS for name in run.hosts_in(role)]
    templates = {(g.guest_template, g.guest_template_url, g.guest_template_sha512) for _, _, g in guests}
    for template, url, sha512 in sorted(templates, key=str):
        proxmox.template_present(name=f"Template {template}", api=api, node=s.pve_node, storage="local",
                                 template=template, url=url, sha512=sha512)
    for name, role, guest in sorted(guests, key=lambda item: item[2].guest_start_order):
        config = KINDS[role](guest, s, _public_key(name))
        proxmox.container(name=f"Container {guest.guest_vmid} ({name})", api=api, node=s.pve_node, config=config,
                          restart=guest.guest_restart_for_changes,
                          template_path=f"{LOCAL_TEMPLATES}/{guest.guest_template}")
        if guest.guest_lxc_raw:
            proxmox.container_raw_lxc(name=f"Container {guest.guest_vmid} raw lxc lines", vmid=guest.guest_vmid,
                                      lines=list(guest.guest_lxc_raw))
        proxmox.container_running(name=f"Container {guest.guest_vmid} running", api=api, node=s.pve_node,
                                  vmid=guest.guest_vmid)


def _public_key(guest_name: str) -> str | None:
    """The public half of the key the engine logs in to the guest with, put into the guest at creation."""
    key = inventory.get_host(guest_name).data.get("ssh_key")
    public = Path(f"{key}.pub").expanduser() if key else None
    return public.read_text().strip() if public and public.is_file() else None


def _samba(run: Run, s: Settings) -> None:
    """A standalone Samba server: one user (uid puid, so files land as the apps' files do), one share per
    nas_shares entry, SMB2 and up, no guest access, no printers, no NetBIOS."""
    apt_proxy(s)
    system.packages(name="Samba", names=["samba"])
    system.account(name=f"User and group {s.nas_user}", user=s.nas_user, uid=s.puid, gid=s.pgid)
    if "/data" not in host.get_fact(Mounts):
        raise RunRefused(f"{host.name} has no /data mount, so the shares would be empty folders on its root disk. "
                         "The guests stage gives the NAS guest mp0 (the data subvolume at /data); a mount point "
                         "added to a running guest waits for its restart: `pct reboot <vmid>` on the host.")
    smb_conf = get_template(str(TEMPLATES / "smb.conf.j2")).render(shares=s.nas_shares, samba_user=s.nas_user,
                                                                  hostname=s.guest_hostname)
    config = system.files_present(name="Samba configuration", files={"/etc/samba/smb.conf": [smb_conf, "644"]})
    samba.user(name=f"Samba user {s.nas_user}", user=s.nas_user, password=run.secrets["nas_password"])
    system.units_on(name="smbd running", units=["smbd.service"])
    systemd.service(name="smbd reloads its configuration", service="smbd", reloaded=True, _if=config.did_change)
    system.units_off(name="nmbd off (no NetBIOS)", units=["nmbd.service"])
