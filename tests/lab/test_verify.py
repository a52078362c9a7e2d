"""The verify suite (tests/verify) as a user runs it, against the converged lab: it passes, and it fails, naming
the check, when the VPN stand-in's interface is gone or a disk of the pool is detached."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lab.topology as topology
from lab import state
from tests.lab.conftest import REPO, deploy, ssh

PVE, GUEST = topology.PVE_HOST["name"], topology.DOCKER_GUEST["name"]
CHECKS = {
    "test_pool.py": ["test_pool_is_mounted_with_the_engines_options", "test_pool_is_raid1_with_every_disk_present",
                     "test_pool_reports_no_device_errors", "test_subvolumes_and_data_tree_are_owned_for_the_guests",
                     "test_hard_links_work_from_downloads_into_media",
                     "test_maintenance_timers_are_enabled_and_running"],
    "test_stack.py": ["test_every_enabled_service_runs_and_is_healthy", "test_only_ssh_and_the_services_ports_are_open",
                      "test_qbittorrent_traffic_goes_only_through_the_vpn_interface",
                      "test_imports_are_hard_links_inside_the_stack",
                      "test_jellyfin_has_the_render_node_when_it_transcodes_with_it"],
}


def verify() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "tests/verify", "--inventory", "inventory/lab.py", "-v",
                           "-p", "no:cacheprovider"], cwd=REPO, capture_output=True, text=True, timeout=600)


def outcome(done: subprocess.CompletedProcess, module: str, check: str) -> str:
    host = PVE if module == "test_pool.py" else GUEST
    line = next((line for line in done.stdout.splitlines()
                 if line.startswith(f"tests/verify/{module}::{check}[{host}] ")), "")
    return line.split()[1] if line else "not run"


@pytest.fixture(scope="module")
def converged(lab):
    first = deploy()
    assert first.returncode == 0, first.output[-6000:]


def test_the_verify_suite_passes_against_the_converged_lab(converged):
    done = verify()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for module, checks in CHECKS.items():
        for check in checks:
            assert outcome(done, module, check) == "PASSED", (check, done.stdout[-4000:])


def test_it_fails_naming_the_vpn_check_when_the_tunnel_is_gone(converged):
    ssh(GUEST, "docker exec gluetun ip link del tun0")
    try:
        done = verify()
    finally:  # a new tun0 comes with a new gluetun, whose namespace the VPN-routed apps must join again
        ssh(GUEST, "docker restart gluetun >/dev/null && docker restart qbittorrent prowlarr autobrr >/dev/null && "
                   "cd /opt/mediabox && docker compose up -d --wait --wait-timeout 180", timeout=300)
    assert done.returncode != 0
    assert outcome(done, "test_stack.py", "test_qbittorrent_traffic_goes_only_through_the_vpn_interface") == "FAILED"
    assert "no tun0 in qBittorrent's namespace: the VPN is down" in done.stdout
    assert outcome(done, "test_stack.py", "test_imports_are_hard_links_inside_the_stack") == "PASSED"


def test_it_fails_naming_the_pool_check_when_a_disk_is_detached(converged):
    """A disk gone from a running box: the pool is mounted degraded (read-only here, so no chunk is written
    outside RAID1) on the disk that is left."""
    first, second = (state.load()["disks"][disk["serial"]]["loop"] for disk in topology.DISKS)
    ssh(PVE, "umount /mnt/storage")
    subprocess.run(["losetup", "-d", second], check=True)
    try:
        ssh(PVE, f"mount -o degraded,ro,noatime,compress=zstd:3,space_cache=v2 {first} /mnt/storage")
        done = verify()
    finally:
        ssh(PVE, "umount /mnt/storage")
        subprocess.run([sys.executable, "-m", "lab", "up"], cwd=REPO, check=True, capture_output=True)
        healed = deploy({"stages": "host"})
        assert healed.returncode == 0, healed.output[-4000:]
    assert done.returncode != 0
    assert outcome(done, "test_pool.py", "test_pool_is_raid1_with_every_disk_present") == "FAILED"
    assert outcome(done, "test_pool.py", "test_pool_is_mounted_with_the_engines_options") == "PASSED"
