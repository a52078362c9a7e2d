"""The host stage on the lab's real loop disks (issue #3's acceptance): build from blank disks, refuse a
disk with data, heal drift, stop on a degraded pool, and the hard-link self-test. Every check reads the
host with its own tools (btrfs, findmnt, stat, systemctl), never with the code under test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

import lab.topology as topology
from lab import state
from tests.conftest import write_secrets
from tests.lab.conftest import REPO, deploy, ssh

PVE = topology.PVE_HOST["name"]
A, B = (disk["by_id"] for disk in topology.DISKS)
MOUNT = "/mnt/storage"
TIMERS = ("mediabox-scrub.timer", "mediabox-snapshot.timer", "mediabox-diskcheck.timer")
HOST_ONLY = {"stages": "host"}


def reset_storage() -> None:
    """Back to blank disks and no maintenance units: what a new box looks like. Lab disks only."""
    ssh(PVE, f"systemctl disable --now {' '.join(TIMERS)} 2>/dev/null; "
             "rm -f /etc/systemd/system/mediabox-* /usr/local/sbin/mediabox-maintenance; rm -rf /etc/mediabox; "
             f"systemctl daemon-reload; umount {MOUNT} 2>/dev/null; "
             f"sed -i '\\#[[:space:]]{MOUNT}[[:space:]]#d' /etc/fstab; "
             f"wipefs -a -q {A} {B}; btrfs device scan --forget 2>/dev/null; true")


@pytest.fixture
def blank_disks(lab):
    reset_storage()
    yield
    reset_storage()


@pytest.fixture
def built_pool(blank_disks):
    first = deploy(HOST_ONLY)
    assert first.returncode == 0, first.output
    return first


def fingerprint(disk: str) -> tuple[str, str]:
    """The disk's first MiB (sha256) and its signatures, as wipefs reads them."""
    return (ssh(PVE, f"dd if={disk} bs=1M count=1 status=none | sha256sum").split()[0],
            ssh(PVE, f"wipefs --json {disk}"))


def test_blank_disks_get_pool_layout_and_timers_then_nothing_changes(built_pool):
    for operation in ("btrfs RAID1 pool", "fstab line for the pool", "Pool mounted", "Data tree", "Appdata folders"):
        assert built_pool.changed(operation), built_pool.output
    assert built_pool.results["Hard links from downloads into media"]["error"] == "-"

    profiles = ssh(PVE, f"btrfs filesystem df {MOUNT}")
    assert "Data, RAID1" in profiles and "Metadata, RAID1" in profiles and "single" not in profiles.split("Global")[0]
    assert "Total devices 2" in ssh(PVE, f"btrfs filesystem show {MOUNT}")
    fstype, options = ssh(PVE, f"findmnt -no FSTYPE,OPTIONS {MOUNT}").split()
    assert fstype == "btrfs" and {"noatime", "compress=zstd:3", "space_cache=v2"} <= set(options.split(","))
    uuid = ssh(PVE, f"blkid -p -s UUID -o value {A}").strip()
    assert f"UUID={uuid} {MOUNT} btrfs noatime,compress=zstd:3,space_cache=v2,nofail 0 0" in ssh(PVE, "cat /etc/fstab")
    subvolumes = {line.split()[-1] for line in ssh(PVE, f"btrfs subvolume list {MOUNT}").splitlines()}
    assert subvolumes == {"appdata", "data", "snapshots"}
    tree = ssh(PVE, f"stat -c '%u:%g %a %n' {MOUNT}/data {MOUNT}/data/downloads/complete/tv "
                    f"{MOUNT}/data/media/youtube {MOUNT}/appdata/sonarr").splitlines()
    assert all(line.startswith("101000:101000 2775 ") for line in tree), tree
    for timer in TIMERS:
        assert ssh(PVE, f"systemctl is-enabled {timer}; systemctl is-active {timer}").split() == ["enabled", "active"]

    second = deploy(HOST_ONLY)
    assert second.changed_nothing, second.output


def test_disk_with_a_filesystem_is_refused_and_not_written(blank_disks):
    ssh(PVE, f"mkfs.ext4 -q -L photos {B}")
    before = {disk: fingerprint(disk) for disk in (A, B)}
    result = deploy(HOST_ONLY)
    assert result.returncode != 0
    assert f"disk {B}" in result.output and "serial LABSN0002) is not blank: ext4 'photos'" in result.output
    assert "add 'LABSN0002' to pool_wipe_serials" in result.output
    assert {disk: fingerprint(disk) for disk in (A, B)} == before
    assert MOUNT not in ssh(PVE, "cat /etc/fstab")


def test_listed_disk_is_wiped_and_pooled(blank_disks):
    ssh(PVE, f"mkfs.ext4 -q -L photos {B}")
    result = deploy({**HOST_ONLY, "pool_wipe_serials": ["LABSN0002"]})
    assert result.returncode == 0, result.output
    assert "wiping " + B in result.output
    assert json.loads(ssh(PVE, f"wipefs --json {B}"))["signatures"][0]["type"] == "btrfs"


def test_drift_is_healed_in_one_run_and_reported(built_pool):
    big = {**HOST_ONLY, "profile": "16gb"}  # TubeArchivist on: vm.max_map_count is managed
    assert deploy(big).returncode == 0
    ssh(PVE, f"sed -i '\\#[[:space:]]{MOUNT}[[:space:]]#d' /etc/fstab; "
             f"rmdir {MOUNT}/data/downloads/complete/tv {MOUNT}/data/media/comics; "
             f"chown root:root {MOUNT}/data/media; systemctl disable --now mediabox-scrub.timer; "
             "sysctl -qw vm.max_map_count=65530")
    healed = deploy(big)
    assert healed.returncode == 0, healed.output
    for operation in ("fstab line for the pool", "Data tree", "Maintenance timers on",
                      "Elasticsearch's vm.max_map_count"):
        assert healed.changed(operation), f"{operation} not reported:\n{healed.output}"
    assert MOUNT in ssh(PVE, "cat /etc/fstab")
    assert ssh(PVE, f"stat -c '%u %a' {MOUNT}/data/media {MOUNT}/data/downloads/complete/tv "
                    f"{MOUNT}/data/media/comics").split() == ["101000", "2775"] * 3
    assert ssh(PVE, "systemctl is-enabled mediabox-scrub.timer").strip() == "enabled"
    assert ssh(PVE, "sysctl -n vm.max_map_count").strip() == "262144"
    assert deploy(big).changed_nothing


def test_detached_disk_stops_the_stage_and_nothing_is_written(built_pool, unchanged_hosts):
    ssh(PVE, f"umount {MOUNT}")
    loop = state.load()["disks"][topology.DISKS[1]["serial"]]["loop"]
    subprocess.run(["losetup", "-d", loop], check=True)
    try:
        result = deploy(HOST_ONLY)
        assert result.returncode != 0
        assert "pool 'media' (" in result.output and f"is degraded: {B} is missing" in result.output
        assert "Nothing was written" in result.output and "btrfs replace start" in result.output
        assert unchanged_hosts()[PVE] == []
        assert MOUNT not in ssh(PVE, "findmnt -rno TARGET")
    finally:
        subprocess.run([sys.executable, "-m", "lab", "up"], cwd=REPO, check=True, capture_output=True)


def test_hardlink_selftest_fails_when_downloads_is_its_own_subvolume(built_pool):
    assert built_pool.results["Hard links from downloads into media"]["error"] == "-"
    ssh(PVE, f"rm -r {MOUNT}/data/downloads && btrfs subvolume create {MOUNT}/data/downloads")
    result = deploy(HOST_ONLY)
    assert result.returncode != 0
    assert f"hard links from {MOUNT}/data/downloads into {MOUNT}/data/media fail" in result.output
    assert "Invalid cross-device link" in result.output and "ONE subvolume" in result.output


def test_a_failing_job_is_reported_to_notify_url(built_pool, notify_inbox, tmp_path):
    secrets = yaml.safe_load(open(os.path.join(topology.LAB_DIR, "secrets.yml")))
    secrets_file = write_secrets(tmp_path / "secrets.yml", {**secrets, "notify_url": notify_inbox.url})
    result = deploy({**HOST_ONLY, "secrets_file": str(secrets_file)})
    assert result.changed("Maintenance script, settings and units") and notify_inbox.url not in result.output
    assert ssh(PVE, "stat -c %a /etc/mediabox/notify.env").strip() == "600"
    ssh(PVE, f"umount {MOUNT}; systemctl start mediabox-diskcheck.service || true")
    body = notify_inbox.wait_for("mediabox-diskcheck.service failed")
    assert f"{MOUNT} is not mounted" in body  # the job's own words, from its journal


def test_appdata_is_exported_whole_then_incrementally_and_as_a_stream(built_pool):
    """export_target on a btrfs filesystem receives each snapshot as a read-only subvolume, incrementally from the
    one before, keeping export_keep; on any other filesystem, a zstd send stream that btrfs receive takes back."""
    btrfs_target, file_target = f"{MOUNT}/exports", "/var/backups/mediabox-export"
    ssh(PVE, f"mkdir -p {btrfs_target} {file_target}")

    def export(marker: str) -> str:
        ssh(PVE, f"echo {marker} > {MOUNT}/appdata/marker && sleep 1 && systemctl start mediabox-snapshot.service "
                 "&& systemctl start mediabox-export.service")
        return ssh(PVE, "journalctl _SYSTEMD_UNIT=mediabox-export.service -o cat --no-pager -n 1").strip()

    try:
        done = deploy({**HOST_ONLY, "export_target": btrfs_target, "export_keep": 2})
        assert done.returncode == 0 and done.changed("Maintenance timers on"), done.output[-4000:]
        assert ssh(PVE, "systemctl is-active mediabox-export.timer").strip() == "active"
        assert export("one").endswith(", whole")
        assert re.search(r", incremental from appdata-[\dT-]+$", export("two"))
        export("three")
        received = ssh(PVE, f"ls {btrfs_target}").split()
        assert len(received) == 2, received  # export_keep
        assert ssh(PVE, f"cat {btrfs_target}/{received[-1]}/marker").strip() == "three"
        assert "ro=true" in ssh(PVE, f"btrfs property get -ts {btrfs_target}/{received[-1]} ro")

        assert deploy({**HOST_ONLY, "export_target": file_target}).returncode == 0
        assert re.search(r"\.btrfs\.zst \([\d.]+[KM]?\)$", export("four"))
        (stream,) = ssh(PVE, f"ls {file_target}").split()
        ssh(PVE, f"mkdir -p {MOUNT}/check && zstd -dc {file_target}/{stream} | btrfs receive -q {MOUNT}/check")
        assert ssh(PVE, f"cat {MOUNT}/check/{stream.removesuffix('.btrfs.zst')}/marker").strip() == "four"
    finally:
        ssh(PVE, f"rm -rf {file_target}")
    off = deploy(HOST_ONLY)
    assert off.returncode == 0 and off.changed("mediabox-export.timer off"), off.output[-4000:]
    assert ssh(PVE, "systemctl is-enabled mediabox-export.timer || true").strip() == "disabled"
