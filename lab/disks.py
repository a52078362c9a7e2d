"""The two data disks: sparse 2 GiB image files in LAB_DIR/disks, attached to loop devices.

lab-pve sees the loop devices (bound into its /dev) under the by-id names a real host would show,
/dev/disk/by-id/ata-LAB_HDD_2G_<serial> -> ../../loopN (see containers.py). Loop numbers vary between
runs, so they are recorded in state.json. An existing attachment of the same file is reused.
"""

import json
import os

from . import topology
from .shell import LabError, run, say, wait_until

STEP = "disks"


def image_path(disk):
    """LAB_DIR/disks/<serial>.img"""
    return os.path.join(topology.DISK_DIR, disk["serial"] + ".img")


def loop_table():
    """{loop device: backing file} for every loop device of the machine (losetup -l)."""
    out = run(STEP, ["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"]).stdout
    if not out.strip():
        return {}
    table = {}
    for row in json.loads(out).get("loopdevices", []):
        back = (row.get("back-file") or "").strip()
        # losetup marks a backing file that was deleted after attaching.
        if back.endswith(" (deleted)"):
            back = back[:-len(" (deleted)")]
        table[row["name"]] = back
    return table


def attached_to(path):
    """Loop devices backed by path (losetup -j), checked against losetup -l."""
    out = run(STEP, ["losetup", "-j", path]).stdout
    devices = [line.split(":", 1)[0] for line in out.splitlines() if line.strip()]
    table = loop_table()
    return [dev for dev in devices if table.get(dev) == os.path.realpath(path)]


def ensure():
    """Create missing images and attach each to a loop device (reusing an existing attachment).

    Returns {serial: {"loop": "/dev/loopN", "by_id": ..., "image": ...}}.
    """
    os.makedirs(topology.DISK_DIR, exist_ok=True)
    result = {}
    for disk in topology.DISKS:
        path = image_path(disk)
        created = False
        if not os.path.exists(path):
            with open(path, "wb") as image:
                image.truncate(disk["size"])
            created = True
        elif os.path.getsize(path) != disk["size"]:
            raise LabError(STEP, "{} has the wrong size (expected {} bytes); run `python -m lab down` "
                                 "to remove it".format(path, disk["size"]))
        devices = attached_to(path)
        if devices:
            loop = devices[0]
            say(STEP, "ok (already attached: {} -> {})".format(disk["serial"], loop))
        else:
            loop = run(STEP, ["losetup", "--find", "--show", path]).stdout.strip()
            say(STEP, "{}{} attached to {}".format("created " if created else "", path, loop))
        result[disk["serial"]] = {"loop": loop, "by_id": disk["by_id"], "image": path}
    return result


def forget_btrfs(loop):
    """Drop the kernel's btrfs registration of a loop device (the registry is global to the kernel)."""
    result = run(STEP, ["btrfs", "device", "scan", "--forget", loop], check=False)
    # Not registered (never held btrfs) is fine; anything else is worth a line.
    if result.returncode != 0 and "No such file or directory" not in (result.stderr or ""):
        say(STEP, "note: btrfs device scan --forget {}: {}".format(loop, (result.stderr or "").strip()))


def detach_all():
    """Detach every loop device backed by a lab image (after forgetting btrfs), then delete the images."""
    for disk in topology.DISKS:
        path = image_path(disk)
        if not os.path.exists(path):
            say(STEP, f"ok (no image {path})")
            continue
        devices = attached_to(path)
        for loop in devices:
            forget_btrfs(loop)
            # losetup -l was checked in attached_to(): this device is backed by the lab's own image.
            run(STEP, ["losetup", "-d", loop])
            say(STEP, "detached {} ({})".format(loop, disk["serial"]))
        # A device still held (e.g. by a btrfs mount that is being torn down) detaches when released.
        wait_until(STEP, f"{path} to be detached", lambda image=path: not attached_to(image), timeout=10)
        os.unlink(path)
        say(STEP, f"removed {path}")


def leftovers():
    """Loop devices still backed by lab images (for verify-clean)."""
    prefix = os.path.realpath(topology.DISK_DIR) + "/"
    return [f"{dev} -> {back}" for dev, back in sorted(loop_table().items()) if back.startswith(prefix)]
