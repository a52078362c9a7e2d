"""The verify stage: after the deploy, the box's health read with the maintenance script's own checks, changing
nothing: the pool's free space and device errors on the Proxmox host, every container of the stack in each Docker
guest. The whole check of a box is the verify suite (`pytest tests/verify --inventory <inventory>`)."""

from __future__ import annotations

from pyinfra import host

from mediabox.run import Run
from mediabox.settings import Settings
from operations import system


def apply(run: Run, s: Settings) -> None:
    roles = run.roles[host.name]
    if "proxmox" in roles:
        system.check_passes(name="Pool healthy (free space, device errors)", job="diskcheck")
    if "docker_guests" in roles:
        system.check_passes(name="Stack healthy (every container)", job="containers")
