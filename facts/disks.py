"""Facts about the host's disks."""

from __future__ import annotations

import json
import re

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

from mediabox.settings import disk_serial

# Whole-disk by-id names from udev's buses; partitions end in -partN, wwn-/eui. names duplicate them.
_WHOLE_DISK = re.compile(r"^(ata|nvme|scsi|usb|virtio|mmc)-(?!.*-part\d+$)")


class DisksById(FactBase[dict]):
    """
    Returns the whole disks under /dev/disk/by-id, keyed by their by-id path:
    the kernel device it points to, the serial (udev names disks <bus>-<model>_<serial>), the
    size in bytes and whether it spins.

    .. code:: python

        {"/dev/disk/by-id/ata-WDC_WD40EFRX_WD-ABC123": {
            "device": "/dev/sda", "serial": "WD-ABC123", "size_bytes": 4000787030016, "rotational": True}}
    """

    @override
    def command(self) -> str:
        return (
            "for link in /dev/disk/by-id/*; do [ -L \"$link\" ] || continue; "
            "dev=$(readlink -f \"$link\"); "
            "sys=/sys/class/block/${dev##*/}; sectors=$(cat $sys/size 2>/dev/null || echo 0); "
            "spins=$(cat $sys/queue/rotational 2>/dev/null || echo 1); "
            "echo \"$link $dev $sectors $spins\"; done"
        )

    default = dict

    @override
    def process(self, output) -> dict:
        disks = {}
        for line in output:
            link, device, sectors, spins = line.rsplit(" ", 3)
            name = link.rsplit("/", 1)[-1]
            if not _WHOLE_DISK.match(name):
                continue
            disks[link] = {"device": device, "serial": disk_serial(link), "size_bytes": int(sectors) * 512,
                           "rotational": spins == "1"}
        return disks


class BlockDevice(FactBase[dict]):
    """
    Returns what is on one disk, read without writing: whether it is present (a detached or
    empty device has size 0 and counts as missing, never as blank), its size, every signature
    wipefs finds (filesystems, RAID members, partition tables), its partitions and mount points.

    .. code:: python

        {"present": True, "device": "/dev/sda", "size_bytes": 4000787030016,
         "signatures": [{"type": "btrfs", "uuid": "0c2d...", "label": "media", "offset": "0x10040"}],
         "partitions": [], "mountpoints": ["/mnt/storage"]}
    """

    @override
    def command(self, device: str) -> StringCommand:
        dev = QuoteString(device)
        return StringCommand("lsblk -J -b -o PATH,SIZE,MOUNTPOINTS", dev, "2>/dev/null; echo '---';",
                             "wipefs --json", dev, "2>/dev/null || true")

    @staticmethod
    @override
    def default() -> dict:
        return {"present": False}

    @override
    def process(self, output) -> dict:
        listing, _, signatures = "\n".join(output).partition("---")
        devices = json.loads(listing).get("blockdevices", []) if listing.strip() else []
        if not devices or not devices[0].get("size"):
            return {"present": False}
        disk = devices[0]
        found = json.loads(signatures).get("signatures", []) if signatures.strip() else []
        children = disk.get("children", [])
        return {
            "present": True,
            "device": disk["path"],
            "size_bytes": int(disk["size"]),
            "signatures": [{k: sig.get(k) for k in ("type", "uuid", "label", "offset")} for sig in found],
            "partitions": [child["path"] for child in children],
            "mountpoints": sorted({m for d in [disk, *children] for m in d.get("mountpoints") or [] if m}),
        }
