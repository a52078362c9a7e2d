"""The verify suite: checks of a running box, read with the box's own tools over SSH (pytest-testinfra), never with
the engine's code. Run it against your box with the inventory you deploy with:

    pytest tests/verify --inventory inventory.py

Each check runs once per host of its role (`proxmox`, `docker_guests`), with that host's settings; a check that
does not apply to the settings (no VPN, no Jellyfin) is skipped with the reason. `make test` runs it against the
lab (tests/lab/test_verify.py), and breaks the lab to see it fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import testinfra

from mediabox.run import load_inventory, validate
from mediabox.settings import Settings


def pytest_addoption(parser):
    parser.addoption("--inventory", default="inventory.py",
                     help="the pyinfra inventory of the box to verify (default: inventory.py)")


@dataclass
class Box:
    """One host of the inventory: its name, settings and a testinfra connection."""

    name: str
    settings: Settings
    host: testinfra.host.Host

    def __repr__(self) -> str:
        return self.name


def _connection(pyinfra_host) -> testinfra.host.Host:
    data = pyinfra_host.data
    user, port = data.get("ssh_user") or "root", data.get("ssh_port") or 22
    options = ["-o BatchMode=yes"]
    if data.get("ssh_known_hosts_file"):
        options.append(f"-o UserKnownHostsFile={data.get('ssh_known_hosts_file')}")
    if data.get("ssh_strict_host_key_checking"):
        options.append(f"-o StrictHostKeyChecking={data.get('ssh_strict_host_key_checking')}")
    return testinfra.get_host(f"ssh://{user}@{data.get('ssh_hostname') or pyinfra_host.name}:{port}",
                              ssh_identity_file=data.get("ssh_key"), ssh_extra_args=" ".join(options),
                              sudo=user != "root")


def _boxes(config) -> tuple[dict[str, list[Box]], object]:
    if not hasattr(config, "_mediabox_boxes"):
        inventory = load_inventory(config.getoption("--inventory"))
        run = validate(inventory)
        by_role: dict[str, list[Box]] = {}
        for pyinfra_host in inventory:
            for role in run.roles[pyinfra_host.name]:
                by_role.setdefault(role, []).append(
                    Box(pyinfra_host.name, run.settings[pyinfra_host.name], _connection(pyinfra_host)))
        config._mediabox_boxes = by_role, run.secrets
    return config._mediabox_boxes


def pytest_generate_tests(metafunc):
    for fixture, role in (("proxmox", "proxmox"), ("guest", "docker_guests")):
        if fixture in metafunc.fixturenames:
            boxes = _boxes(metafunc.config)[0].get(role, [])
            metafunc.parametrize(fixture, boxes, ids=[box.name for box in boxes] or None)


@pytest.fixture(scope="session")
def secrets(request):
    return _boxes(request.config)[1]


def hard_link_probe(data: str) -> str:
    """A shell command that links a new file in data/downloads into data/media, prints both files' link count
    and inode, and removes them."""
    return (f'set -e; f={data}/downloads/.mediabox-verify-$$; g={data}/media/.mediabox-verify-$$; touch "$f"; '
            'ln "$f" "$g"; stat -c "%h %i" "$f" "$g"; rm -f "$f" "$g"')


def assert_hard_linked(probe) -> None:
    assert probe.rc == 0, f"no hard link from downloads into media: {probe.stderr}"
    first, second = probe.stdout.split("\n")[:2]
    assert first == second and first.split()[0] == "2", f"a copy, not a hard link: {probe.stdout}"
