"""Facts about the host's disks."""

from __future__ import annotations

import re

from pyinfra.api import FactBase
from typing_extensions import override

from mediabox.settings import disk_serial

# Whole-disk by-id names from udev's buses; partitions end in -partN, wwn-/eui. names duplicate them.
_WHOLE_DISK = re.compile(r"^(ata|nvme|scsi|usb|virtio|mmc)-(?!.*-part\d+$)")


class DisksById(FactBase[dict]):
    """
    Returns the whole disks under /dev/disk/by-id, keyed by their by-id path:
    the kernel device it points to, the serial (udev names disks <bus>-<model>_<serial>) and the
    size in bytes.

    .. code:: python

        {"/dev/disk/by-id/ata-WDC_WD40EFRX_WD-ABC123": {
            "device": "/dev/sda", "serial": "WD-ABC123", "size_bytes": 4000787030016}}
    """

    @override
    def command(self) -> str:
        return (
            "for link in /dev/disk/by-id/*; do [ -L \"$link\" ] || continue; "
            "dev=$(readlink -f \"$link\"); "
            "sectors=$(cat /sys/class/block/${dev##*/}/size 2>/dev/null || echo 0); "
            "echo \"$link $dev $sectors\"; done"
        )

    @staticmethod
    @override
    def default() -> dict:
        return {}

    @override
    def process(self, output) -> dict:
        disks = {}
        for line in output:
            link, device, sectors = line.rsplit(" ", 2)
            name = link.rsplit("/", 1)[-1]
            if not _WHOLE_DISK.match(name):
                continue
            disks[link] = {"device": device, "serial": disk_serial(link), "size_bytes": int(sectors) * 512}
        return disks
