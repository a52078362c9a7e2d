"""The local lab (`make lab-up`): a Proxmox-host stand-in, a Docker guest and a NAS guest in real LXC containers,
two loop-device disks, and fakepve serving the Proxmox API. Addresses come from lab/topology.py,
so the lab and these settings cannot disagree.
"""

import os.path as _path

import lab.state as _lab_state
import lab.topology as _lab
from mediabox.catalog import SERVICES as _SERVICES

# What `python -m lab up` made: its images and how many Docker guests (read once, not once per guest).
_state = _lab_state.load()

_connection = {
    "ssh_user": "root",
    "ssh_key": _path.join(_lab.LAB_DIR, "id_ed25519"),
    "ssh_known_hosts_file": _path.join(_lab.LAB_DIR, "known_hosts"),
    "ssh_strict_host_key_checking": "yes",
}

# Settings every lab host shares (the rest are group_data/all.py's defaults).
_site = {
    "secrets_file": _path.join(_lab.LAB_DIR, "secrets.yml"),
    "apt_proxy": _lab.APT_PROXY,
    "jellyfin_hwaccel": "none",  # the lab machine has no /dev/dri
}

proxmox = [
    (_lab.PVE_HOST["name"], {
        **_connection,
        **_site,
        "ssh_hostname": _lab.PVE_HOST["ip"],
        "pve_api_host": _lab.PVE_API["host"],
        "pve_api_port": _lab.PVE_API["port"],
        "pve_node": _lab.PVE_HOST["node"],
        "pve_ca_file": _path.join(_lab.PVE_DIR, "fakepve.crt"),
        "pool_disks": [disk["by_id"] for disk in _lab.DISKS],
    }),
]


# Apps played by the lab's spec-validating fakes (lab/fakes), on their own ports.
_FAKED = ("sonarr", "radarr", "lidarr", "readarr", "whisparr", "prowlarr", "jellyfin", "seerr", "audiobookshelf",
          "autobrr", "tubearchivist")


def _config_dir(name: str) -> str:
    """Where the service keeps its config: the target of its {appdata} volume (/config, /app/config, ...)."""
    return next(volume.split(":")[1] for volume in _SERVICES[name].volumes if volume.startswith("{appdata}:"))


def _stack() -> dict:
    """The lab's images, from its own registry, in place of the catalog's (which cannot be pulled here):
    real qBittorrent and Redis, fakes of the apps the wiring talks to, and for the rest a stand-in that
    answers on the service's own port (the VPN stand-in holds the shared network namespace and a tun device).
    They are the images `lab up` last built and pushed, as its state records them: working their tags out again
    hashes the fakes and every file of their Python dependencies, ~1 s each time pyinfra loads this inventory."""
    images = _state.get("registry", {}).get("images") or _lab.LAB_IMAGES
    real = {"qbittorrent": images["qbittorrent"], "tubearchivist_redis": images["redis"]}
    real |= {name: images["appfake"] for name in _FAKED}
    ports = {name: svc.inner_port for name, svc in _SERVICES.items()} | {"tubearchivist_es": 9200}
    environment = {name: {"STANDIN_PORTS": str(port)} for name, port in ports.items()
                   if name not in real and port and name != "gluetun"}
    environment |= {name: {"FAKE_APP": name, "FAKE_PORT": str(ports[name]), "FAKE_CONFIG_DIR": _config_dir(name)}
                    for name in _FAKED}
    return {
        "docker_source": "debian",  # download.docker.com is unreachable from the lab
        "health_check_interval_s": 5,  # the lab's apps are small: healthy sooner after every start
        "docker_insecure_registries": [_lab.REGISTRY],
        "image_overrides": {name: real.get(name, images["standin"]) for name in _SERVICES},
        "service_environment": environment,
    }


def _docker_guest(guest: dict) -> tuple[str, dict]:
    return (guest["name"], {
        **_connection,
        **_site,
        "ssh_hostname": guest["ip"],
        "guest_vmid": guest["vmid"],
        "guest_hostname": guest["hostname"],
        "guest_ip": f"{guest['ip']}/{_lab.PREFIX}",
        "guest_gateway": _lab.GATEWAY,
        "guest_cores": 2,  # the lab machine has 2
        **_stack(),
    })


# One Docker guest, or as many as `python -m lab up --docker-guests N` made (make bench).
docker_guests = [_docker_guest(guest) for guest in _lab.docker_guests(_lab_state.docker_guest_count(_state))]

nas_guests = [
    (_lab.NAS_GUEST["name"], {
        **_connection,
        **_site,
        "ssh_hostname": _lab.NAS_GUEST["ip"],
        "nas_enabled": True,  # the lab runs the 8gb profile, which leaves the NAS off
        "guest_vmid": _lab.NAS_GUEST["vmid"],
        "guest_hostname": _lab.NAS_GUEST["hostname"],
        "guest_ip": f"{_lab.NAS_GUEST['ip']}/{_lab.PREFIX}",
        "guest_gateway": _lab.GATEWAY,
    }),
]
