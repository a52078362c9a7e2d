"""Regenerate the fact fixtures from real command output on the lab's Proxmox-host stand-in.

Run by hand, as root, with the lab up: `python -m tests.facts.capture`. It puts the lab's two disks
through blank, ext4, partitioned, pool, single-profile and degraded states, captures each fact's output
in each, writes tests/facts/<module>.<Fact>/<state>.json, and leaves both disks blank again.
It only ever touches the lab's loop disks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lab.topology as topology
from facts.btrfs import BtrfsDeviceStats, BtrfsFilesystems, BtrfsProfiles, BtrfsScrubStatus, BtrfsSubvolumes
from facts.disks import BlockDevice, DisksById
from facts.docker import ComposePluginVersion, ComposeState, RuncVersion
from facts.proxmox import TemplateGroupId
from facts.samba import SambaPasswordFingerprint
from facts.system import (
    Account,
    FileStates,
    FstabEntries,
    GroupId,
    HardlinkProbe,
    MaintenanceCheck,
    PathOwnership,
    SmartSupport,
    UnitStates,
)
from lab import state

HERE = Path(__file__).parent
A, B = (disk["by_id"] for disk in topology.DISKS)
MNT = "/mnt/capture"
# The Samba password of the capture's user; tests/test_facts.py checks the fact against its fingerprint.
CAPTURE_PASSWORD = "capture-password"


def ssh(command: str, check: bool = True, ip: str = topology.PVE_HOST["ip"]) -> list[str]:
    done = subprocess.run(["ssh", "-i", f"{topology.LAB_DIR}/id_ed25519", "-o",
                           f"UserKnownHostsFile={topology.LAB_DIR}/known_hosts", f"root@{ip}",
                           command], capture_output=True, text=True, timeout=300)
    if check and done.returncode:
        raise SystemExit(f"{command}: {done.stderr}")
    return done.stdout.splitlines()


def capture(fact_cls, case: str, ip: str = topology.PVE_HOST["ip"], **args) -> None:
    fact = fact_cls()
    command = fact.command(**args) if callable(fact.command) else fact.command
    text = command if isinstance(command, str) else command.get_raw_value()
    output = ssh(text, ip=ip)
    folder = HERE / f"{fact_cls.__module__.split('.')[-1]}.{fact_cls.__name__}"
    folder.mkdir(exist_ok=True)
    spec = {"arg": args, "command": text, "output": output, "fact": fact.process(output)}
    (folder / f"{case}.json").write_text(json.dumps(spec, indent=2) + "\n")
    print(f"{folder.name}/{case}.json")


def blank() -> None:
    ssh(f"umount {MNT} 2>/dev/null; wipefs -a -q {A} {B}; btrfs device scan --forget 2>/dev/null; true")


def main() -> None:
    ssh("(apt-get update -q && apt-get install -y -q btrfs-progs fdisk smartmontools zstd) >/dev/null")
    blank()
    capture(BlockDevice, "blank", device=A)
    capture(BtrfsFilesystems, "none")
    capture(DisksById, "lab_pve_two_loop_disks")
    capture(FstabEntries, "debian_base")
    capture(SmartSupport, "loop_device", device=A)
    capture(GroupId, "video", group="video")
    capture(GroupId, "no_such_group", group="render")
    capture(PathOwnership, "missing", paths=[f"{MNT}/data"])
    capture(HardlinkProbe, "source_missing", source=f"{MNT}/data/downloads", target=f"{MNT}/data/media")
    # A template-shaped tarball of the stand-in's /etc/group, with a render line added when its minbase
    # rootfs (no udev) lacks one.
    ssh("mkdir -p /tmp/tpl/etc && cp /etc/group /tmp/tpl/etc/group && (grep -q '^render:' /tmp/tpl/etc/group || "
        "echo 'render:x:104:' >> /tmp/tpl/etc/group) && tar -C /tmp/tpl --zstd -cf /tmp/template.tar.zst ./etc "
        "&& rm -r /tmp/tpl")
    capture(TemplateGroupId, "render_in_template", path="/tmp/template.tar.zst", group="render")
    capture(TemplateGroupId, "group_not_in_template", path="/tmp/template.tar.zst", group="nosuchgroup")
    capture(TemplateGroupId, "template_missing", path="/var/lib/vz/template/cache/missing.tar.zst", group="render")
    ssh("rm -f /tmp/template.tar.zst")

    ssh(f"mkfs.ext4 -q -L photos {A}")
    capture(BlockDevice, "ext4", device=A)
    blank()
    ssh(f"printf 'label: gpt\\n,,L\\n' | sfdisk -q {A}")
    capture(BlockDevice, "gpt_partition_table", device=A)
    blank()

    ssh(f"mkfs.btrfs -q -L media -m raid1 -d raid1 {A} {B} && mkdir -p {MNT} && "
        f"mount -o noatime,compress=zstd:3,space_cache=v2 {A} {MNT} && "
        f"btrfs subvolume create {MNT}/appdata && btrfs subvolume create {MNT}/data && "
        f"mkdir -p {MNT}/data/downloads {MNT}/data/media && chown 101000:101000 {MNT}/data && chmod 2775 {MNT}/data "
        f"&& btrfs subvolume create {MNT}/data/media-subvolume && btrfs scrub start -B {MNT} >/dev/null")
    capture(BlockDevice, "btrfs_member_mounted", device=A)
    capture(BtrfsFilesystems, "raid1_pool")
    capture(BtrfsProfiles, "raid1", path=MNT)
    capture(BtrfsProfiles, "not_btrfs", path="/")
    capture(BtrfsSubvolumes, "pool", path=MNT)
    capture(BtrfsSubvolumes, "not_btrfs", path="/")
    capture(BtrfsDeviceStats, "clean", path=MNT)
    capture(BtrfsScrubStatus, "after_scrub", path=MNT)
    capture(PathOwnership, "data_tree", paths=[f"{MNT}/data", f"{MNT}/data/downloads", f"{MNT}/nope"])
    capture(HardlinkProbe, "same_subvolume", source=f"{MNT}/data/downloads", target=f"{MNT}/data/media")
    capture(HardlinkProbe, "across_subvolumes", source=f"{MNT}/data/downloads", target=f"{MNT}/data/media-subvolume")
    ssh(f"umount {MNT}")

    loops = {serial: info["loop"] for serial, info in state.load()["disks"].items()}
    subprocess.run(["losetup", "-d", loops[topology.DISKS[1]["serial"]]], check=True)
    try:
        capture(BlockDevice, "detached", device=B)
        capture(BtrfsFilesystems, "raid1_pool_one_missing")
    finally:
        subprocess.run([sys.executable, "-m", "lab", "up"], check=True, capture_output=True)
    blank()

    ssh(f"mkfs.btrfs -q -L media -m dup -d single {A} && mount {A} {MNT}")
    capture(BtrfsProfiles, "single_dup", path=MNT)
    blank()
    capture_nas()
    capture_docker()


def capture_nas() -> None:
    """On lab-nas: a Samba user with a known password, and one that does not exist."""
    nas = topology.NAS_GUEST["ip"]
    ssh("(apt-get install -y -q samba && id capture || useradd -M capture) >/dev/null && "
        f"printf '{CAPTURE_PASSWORD}\\n{CAPTURE_PASSWORD}\\n' | smbpasswd -s -a capture >/dev/null", ip=nas)
    capture(SambaPasswordFingerprint, "user_with_password", ip=nas, user="capture")
    capture(SambaPasswordFingerprint, "no_such_user", ip=nas, user="nosuchuser")
    capture(Account, "user_and_group", ip=nas, user="media")
    capture(Account, "missing", ip=nas, user="nosuchuser")
    ssh("smbpasswd -x capture >/dev/null && userdel capture", ip=nas)


MAINTENANCE_FILES = ["/usr/local/sbin/mediabox-maintenance", "/etc/mediabox/maintenance.env",
                     "/etc/mediabox/notify.env"]


def capture_docker() -> None:
    """On lab-docker, after the stack stage: the runtime, the running project, one stopped service, none; the
    maintenance check there, and where the script is not installed (lab-nas). (system.MaintenanceCheck/pool_fine
    comes from the converged lab's Proxmox host: this capture leaves its disks blank.)"""
    guest = topology.DOCKER_GUEST["ip"]
    capture(RuncVersion, "debian_docker_io", ip=guest)
    capture(ComposePluginVersion, "installed", ip=guest, path="/usr/local/lib/docker/cli-plugins/docker-compose")
    capture(ComposePluginVersion, "missing", ip=guest, path="/usr/local/lib/docker/cli-plugins/none")
    capture(ComposeState, "lab_8gb_up", ip=guest, path="/opt/mediabox", project="mediabox")
    capture(MaintenanceCheck, "stack_healthy", ip=guest, job="containers")
    capture(FileStates, "maintenance_files", ip=guest, paths=MAINTENANCE_FILES)
    capture(UnitStates, "one_on_one_missing", ip=guest, units=["mediabox-containers.timer", "mediabox-export.timer"])
    capture(MaintenanceCheck, "script_not_installed", ip=topology.NAS_GUEST["ip"], job="containers")
    ssh("docker stop -t 1 radarr >/dev/null", ip=guest)
    try:
        capture(ComposeState, "radarr_stopped", ip=guest, path="/opt/mediabox", project="mediabox")
        capture(MaintenanceCheck, "container_exited", ip=guest, job="containers")
    finally:
        ssh("docker start radarr >/dev/null", ip=guest)
    capture(ComposeState, "no_project", ip=guest, path="/opt/nothing", project="nothing")


if __name__ == "__main__":
    main()
