"""The lab's constants: names, addresses, paths. Every other lab module imports them from here.

The lab stands in for the user's home network:
- BRIDGE (labbr0, in the root network namespace) plays the LAN / the PVE host's vmbr0 uplink;
- PVE_HOST (privileged LXC container "lab-pve") plays the Proxmox VE host, reachable over SSH;
- DOCKER_GUEST (unprivileged LXC container "lab-docker") plays the Docker CT that PVE would create;
- PVE_API (fakepve on loopback) plays the Proxmox API;
- DISKS (sparse image files on loop devices) play the two data disks;
- REGISTRY (Debian's docker-registry on the bridge address) plays Docker Hub, lscr.io and ghcr.io: the lab's own
  images (LAB_IMAGES) are the only ones the guests can pull.
"""

import os

# Repository root = the parent of this package; runtime state lives in <repo>/.lab.
REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_DIR = os.path.join(REPO_DIR, ".lab")

# Rootfs tarballs and the apt-cacher-ng cache: kept across clean clones, always rebuildable.
CACHE_DIR = os.environ.get("LAB_CACHE_DIR", "/var/cache/homelab-lab")

# The LAN stand-in (root network namespace).
BRIDGE = "labbr0"
GATEWAY = "10.213.0.1"
PREFIX = 24

# The Proxmox VE host stand-in.
PVE_HOST = dict(name="lab-pve", ip="10.213.0.2", node="pve1")

# The Docker guest, as Proxmox would create it (CT 200, hostname "media").
DOCKER_GUEST = dict(name="lab-docker", ip="10.213.0.10", vmid=200, hostname="media")

# The NAS guest (CT 201, hostname "nas"): a Samba server sharing the data subvolume.
NAS_GUEST = dict(name="lab-nas", ip="10.213.0.11", vmid=201, hostname="nas")

# apt-cacher-ng on the bridge address: the lab hosts have no internet, apt goes through this proxy.
APT_PROXY = "http://10.213.0.1:3142"

# The image registry (Debian's docker-registry, plain HTTP) on the bridge address; the guests' dockerd lists it under
# insecure-registries. Its storage is a cache (kept across `down`); config, pid and log live in REGISTRY_DIR.
REGISTRY = f"{GATEWAY}:5000"
REGISTRY_URL = f"http://{REGISTRY}"
REGISTRY_STORAGE = os.path.join(CACHE_DIR, "registry")
# Build artifacts of the lab's images (layer, config, manifest): CACHE_DIR/images/<name>-<tag>/.
IMAGE_CACHE_DIR = os.path.join(CACHE_DIR, "images")
# The lab's images are REGISTRY/IMAGE_NAMESPACE/<name>:<hash of the recipe>; see LAB_IMAGES below.
IMAGE_NAMESPACE = "mediabox-lab"

# fakepve (the Proxmox API stand-in) on a loopback address of the lab machine.
PVE_API = dict(host="127.0.213.1", port=8006, user="root@pam")
PVE_TOKEN_ID = "root@pam!lab"
# Real seconds per PVE second for fakepve tasks (0 = tasks finish instantly).
PVE_TIME_SCALE = 0.01

# The two data disks: sparse image files attached to loop devices, seen in lab-pve under these by-id names.
DISK_SIZE = 2 * 1024 ** 3
DISKS = [
    dict(serial="LABSN0001", by_id="/dev/disk/by-id/ata-LAB_HDD_2G_LABSN0001", size=DISK_SIZE),
    dict(serial="LABSN0002", by_id="/dev/disk/by-id/ata-LAB_HDD_2G_LABSN0002", size=DISK_SIZE),
]

# The CT template fakepve lists in storage `local` (content vztmpl).
TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"
TEMPLATE_SIZE = 126 * 1024 ** 2

# Debian release of both containers.
SUITE = "bookworm"

# Unprivileged mapping of lab-docker (PVE's default): CT uid N = host uid 100000 + N.
IDMAP_BASE = 100000
IDMAP_SIZE = 65536

# LXC's default lxcpath, so `lxc-ls` shows the lab containers.
LXC_PATH = "/var/lib/lxc"

# Files under LAB_DIR.
STATE_FILE = os.path.join(LAB_DIR, "state.json")
SECRETS_FILE = os.path.join(LAB_DIR, "secrets.yml")
SSH_KEY = os.path.join(LAB_DIR, "id_ed25519")
KNOWN_HOSTS = os.path.join(LAB_DIR, "known_hosts")
LOG_DIR = os.path.join(LAB_DIR, "logs")
DISK_DIR = os.path.join(LAB_DIR, "disks")
PVE_DIR = os.path.join(LAB_DIR, "pve")
APT_PROXY_DIR = os.path.join(LAB_DIR, "apt-cacher-ng")
REGISTRY_DIR = os.path.join(LAB_DIR, "registry")
# The pool's appdata and data subvolumes as the guests see them through their mount points (on a real
# box, bind mounts of /mnt/storage/appdata and /mnt/storage/data); the guests bind these directories.
GUEST_STORAGE_DIR = os.path.join(LAB_DIR, "storage")

# The lab containers, in start order.
CONTAINERS = [PVE_HOST, DOCKER_GUEST, NAS_GUEST]

# More Docker guests, made only by `python -m lab up --docker-guests N` (make bench: how a run grows with guests);
# a plain `lab up` removes them. Each binds storage of its own (storage_dir).
EXTRA_DOCKER_GUESTS = [dict(name="lab-docker2", ip="10.213.0.12", vmid=202, hostname="media2"),
                       dict(name="lab-docker3", ip="10.213.0.13", vmid=203, hostname="media3")]
MAX_DOCKER_GUESTS = 1 + len(EXTRA_DOCKER_GUESTS)
ALL_CONTAINERS = CONTAINERS + EXTRA_DOCKER_GUESTS  # what `down` and `verify-clean` look for


def docker_guests(count: int = 1) -> list[dict]:
    """The first count Docker guests."""
    return [DOCKER_GUEST, *EXTRA_DOCKER_GUESTS[:count - 1]]


def containers(docker_guest_count: int = 1) -> list[dict]:
    """The lab's containers with this many Docker guests, in start order."""
    return CONTAINERS + docker_guests(docker_guest_count)[1:]


def storage_dir(name: str) -> str:
    """The appdata and data trees a guest binds: the first Docker guest's and the NAS guest's are shared."""
    if name in (DOCKER_GUEST["name"], NAS_GUEST["name"]):
        return GUEST_STORAGE_DIR
    return os.path.join(LAB_DIR, f"storage-{name}")


def __getattr__(name):
    """LAB_IMAGES, computed on first use: {"qbittorrent": "10.213.0.1:5000/mediabox-lab/qbittorrent:<tag>",
    "redis": ..., "standin": ...}, <tag> a short hash of the image's recipe (lab/images.py), so a changed recipe is
    a new tag. Lazy because the standin's recipe reads mediabox.catalog: `down` and `verify-clean` never import it.
    """
    if name == "LAB_IMAGES":
        from .images import refs
        return refs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
