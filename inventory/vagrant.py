"""The Vagrant box (`vagrant up`, see the Vagrantfile): Proxmox VE on Debian 12 at 192.168.56.10 with two blank
disks, and the Docker guest the engine makes on its private network. Run `pyinfra inventory/vagrant.py deploy.py`
from the repository's root, after `vagrant up`.

Secrets come from ~/.config/mediabox/vagrant-secrets.yml (0600): vpn_wireguard_private_key (and your VPN's
settings in group_data/all.py or here); no Proxmox password is needed, the API is reached with pvesh over root's
SSH login. The engine puts the public half of your own key (MEDIABOX_SSH_KEY, default ~/.ssh/id_ed25519, with
its .pub beside it) into the guest it makes, and logs in to it with that. MEDIABOX_POOL_DISKS (two
/dev/disk/by-id paths, comma-separated) replaces the disks' names where your provider names them otherwise
(`vagrant ssh -c 'ls -l /dev/disk/by-id'`).
"""

import glob as _glob
import os as _os

_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
_SERIALS = ("MEDIABOXDISK1", "MEDIABOXDISK2")  # the Vagrantfile's DISKS


def _key() -> str:
    """Vagrant's private key for this machine, whichever provider made it."""
    found = sorted(_glob.glob(_os.path.join(_ROOT, ".vagrant", "machines", "default", "*", "private_key")))
    return found[0] if found else _os.path.join(_ROOT, ".vagrant", "machines", "default", "libvirt", "private_key")


def _disks() -> list[str]:
    named = _os.environ.get("MEDIABOX_POOL_DISKS")
    if named:
        return [disk.strip() for disk in named.split(",")]
    provider = _key().split(_os.sep)[-2]
    prefix = "ata-VBOX_HARDDISK_" if provider == "virtualbox" else "virtio-"
    return [f"/dev/disk/by-id/{prefix}{serial}" for serial in _SERIALS]


_connection = {
    "ssh_user": "root",
    "ssh_key": _key(),
    "ssh_known_hosts_file": _os.path.join(_ROOT, ".vagrant", "known_hosts"),
    "ssh_strict_host_key_checking": "accept-new",  # a new box has a new host key
    "secrets_file": "~/.config/mediabox/vagrant-secrets.yml",
}

proxmox = [
    ("vagrant-pve", {
        **_connection,
        "ssh_hostname": "192.168.56.10",
        "pve_node": "pve",
        "pve_auth": "ssh",
        "pool_disks": _disks(),
    }),
]

docker_guests = [
    ("vagrant-media", {
        **_connection,
        "ssh_key": _os.path.expanduser(_os.environ.get("MEDIABOX_SSH_KEY", "~/.ssh/id_ed25519")),
        "ssh_hostname": "192.168.56.20",
        "guest_ip": "192.168.56.20/24",
        "guest_gateway": "192.168.56.10",  # the Proxmox VM masquerades the private network out of Vagrant's NAT
    }),
]
