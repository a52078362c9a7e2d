"""The Proxmox host's pool: mounted as the engine mounts it, RAID1 with every disk present and no device errors,
its layout owned for the unprivileged guests, hard links working from downloads into media, and the maintenance
timers on."""

from __future__ import annotations

from mediabox import layout
from tests.verify.conftest import assert_hard_linked, hard_link_probe


def test_pool_is_mounted_with_the_engines_options(proxmox):
    mount = proxmox.host.mount_point(proxmox.settings.storage_mount)
    assert mount.exists, f"{proxmox.settings.storage_mount} is not mounted"
    assert mount.filesystem == "btrfs"
    missing = [option for option in layout.MOUNT_OPTIONS if option not in mount.options]
    assert not missing, f"mounted without {missing}: {mount.options}"


def test_pool_is_raid1_with_every_disk_present(proxmox):
    mount = proxmox.settings.storage_mount
    shown = proxmox.host.run(f"btrfs filesystem show {mount}")
    assert shown.rc == 0, shown.stderr
    assert "missing" not in shown.stdout.lower(), shown.stdout
    assert f"Total devices {len(proxmox.settings.pool_disks)} " in shown.stdout, shown.stdout
    profiles = proxmox.host.check_output(f"btrfs filesystem df {mount}")
    kinds = {line.split(",")[0]: line.split(",")[1].split(":")[0].strip() for line in profiles.splitlines()
             if line.startswith(("Data", "Metadata", "System"))}
    assert kinds == {"Data": "RAID1", "Metadata": "RAID1", "System": "RAID1"}, profiles


def test_pool_reports_no_device_errors(proxmox):
    stats = proxmox.host.run(f"btrfs device stats -c {proxmox.settings.storage_mount}")
    assert stats.rc == 0, f"btrfs device errors:\n{stats.stdout}{stats.stderr}"


def test_subvolumes_and_data_tree_are_owned_for_the_guests(proxmox):
    s = proxmox.settings
    subvolumes = proxmox.host.check_output(f"btrfs subvolume list -o {s.storage_mount}")
    assert {line.split()[-1] for line in subvolumes.splitlines()} >= set(layout.SUBVOLUMES), subvolumes
    owner = (s.guest_id_offset + s.puid, s.guest_id_offset + s.pgid)
    for path in layout.data_dirs(s.storage_mount):
        folder = proxmox.host.file(path)
        assert folder.is_directory, f"{path} is missing"
        assert (folder.uid, folder.gid) == owner, f"{path} belongs to {folder.uid}:{folder.gid}, not {owner}"


def test_hard_links_work_from_downloads_into_media(proxmox):
    assert_hard_linked(proxmox.host.run(hard_link_probe(f"{proxmox.settings.storage_mount}/data")))


def test_maintenance_timers_are_enabled_and_running(proxmox):
    for job in layout.MAINTENANCE_JOBS:
        timer = proxmox.host.service(f"mediabox-{job}.timer")
        assert timer.is_enabled and timer.is_running, f"mediabox-{job}.timer is not on"
