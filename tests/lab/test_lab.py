"""The lab itself: `lab up` on a running lab is a no-op, and both hosts answer as the settings say."""

from __future__ import annotations

import re
import subprocess
import sys

import lab.topology as topology
from lab.checks import KEYCTL
from tests.lab.conftest import REPO, ssh


def test_lab_up_again_changes_nothing(lab):
    done = subprocess.run([sys.executable, "-m", "lab", "up"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line for line in done.stdout.splitlines() if re.match(r"^\[[\w-]+\] ", line)]
    assert len(steps) >= 8
    changed = [line for line in steps if not line.startswith("[up]") and "] ok" not in line]
    assert changed == [], "\n".join(changed)


def test_guest_is_unprivileged_with_nesting_and_keyctl(lab):
    guest = topology.DOCKER_GUEST["name"]
    uid_map = ssh(guest, "cat /proc/self/uid_map").split()
    assert uid_map[:3] == ["0", "100000", "65536"]
    assert ssh(guest, "hostname").strip() == topology.DOCKER_GUEST["hostname"]
    assert ssh(guest, KEYCTL).strip() == "keyctl ok"  # what runc needs; PVE's keyctl=1 allows it


def test_proxmox_stand_in_sees_its_disks_by_id(lab):
    host = topology.PVE_HOST["name"]
    for disk in topology.DISKS:
        assert ssh(host, f"test -b {disk['by_id']} && readlink -f {disk['by_id']}").startswith("/dev/loop")
    assert ssh(host, "test -c /dev/btrfs-control && echo yes").strip() == "yes"
