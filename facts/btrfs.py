"""Facts about btrfs filesystems: what exists, its profiles, subvolumes and health."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

from facts import colon_fields

_LABEL = re.compile(r"^Label: (?:'(?P<label>.*)'|none)\s+uuid: (?P<uuid>[0-9a-f-]+)")
_TOTAL = re.compile(r"^\s*Total devices (?P<total>\d+)")
_DEVICE = re.compile(r"^\s*devid\s+(?P<devid>\d+) size (?P<size>\d+) used \d+ path (?P<path>\S+)(?P<missing> MISSING)?")


class _BtrfsFact(FactBase):
    abstract = True

    @override
    def requires_command(self, *args, **kwargs) -> str:
        return "btrfs"


class _BtrfsPathFact(_BtrfsFact):
    """A fact read by `btrfs <subcommand> <path>`; nothing mounted there reads as the default."""

    abstract = True
    subcommand = ""

    @override
    def command(self, path: str) -> StringCommand:
        return StringCommand("btrfs", self.subcommand, QuoteString(path), "2>/dev/null || true")

    default = dict


class BtrfsFilesystems(_BtrfsFact):
    """
    Returns every btrfs filesystem the kernel knows, mounted or not, keyed by uuid, with its
    label, how many devices it should have, the devices present and how many are missing.

    .. code:: python

        {"0c2d7066-...": {"label": "media", "total_devices": 2, "missing": 0,
                          "devices": {"1": "/dev/sda", "2": "/dev/sdb"}}}
    """

    command = "btrfs filesystem show --raw 2>/dev/null || true"

    default = dict

    @override
    def process(self, output) -> dict:
        filesystems: dict = {}
        current: dict = {}
        for line in output:
            if match := _LABEL.match(line):
                current = filesystems.setdefault(match["uuid"], {"label": match["label"], "devices": {}})
            elif match := _TOTAL.match(line):
                current["total_devices"] = int(match["total"])
            elif (match := _DEVICE.match(line)) and not match["missing"] and match["path"] != "<missing":
                current["devices"][match["devid"]] = match["path"]
        for fs in filesystems.values():
            fs["missing"] = fs.get("total_devices", len(fs["devices"])) - len(fs["devices"])
        return filesystems


class BtrfsProfiles(_BtrfsPathFact):
    """
    Returns the block group profiles of a mounted btrfs, by type (more than one after writes
    to a degraded pool); {} when the path is not a mounted btrfs.

    .. code:: python

        {"Data": ["RAID1"], "Metadata": ["RAID1"], "System": ["RAID1"]}
    """

    subcommand = "filesystem df --raw"

    @override
    def process(self, output) -> dict:
        profiles: dict[str, set[str]] = {}
        for line in output:
            kind, _, rest = line.partition(", ")
            if rest and kind != "GlobalReserve":
                profiles.setdefault(kind, set()).add(rest.split(":", 1)[0])
        return {kind: sorted(names) for kind, names in profiles.items()}


class BtrfsSubvolumes(_BtrfsPathFact):
    """
    Returns the paths of the subvolumes of the btrfs mounted at a path, relative to its top level;
    [] when nothing is mounted there.

    .. code:: python

        ["appdata", "data", "snapshots", "snapshots/appdata-2026-11-25"]
    """

    subcommand = "subvolume list"

    default = list

    @override
    def process(self, output) -> list:
        return sorted(line.split(" path ", 1)[1] for line in output if " path " in line)


class BtrfsDeviceStats(_BtrfsPathFact):
    """
    Returns the error counters of each device of the btrfs mounted at a path.

    .. code:: python

        {"/dev/sda": {"write_io_errs": 0, "read_io_errs": 0, "flush_io_errs": 0,
                      "corruption_errs": 0, "generation_errs": 0}}
    """

    subcommand = "device stats"

    @override
    def process(self, output) -> dict:
        stats: dict = {}
        for line in output:
            if match := re.match(r"^\[(?P<dev>[^\]]+)\]\.(?P<counter>\w+)\s+(?P<value>\d+)$", line.strip()):
                stats.setdefault(match["dev"], {})[match["counter"]] = int(match["value"])
        return stats


class BtrfsScrubStatus(_BtrfsPathFact):
    """
    Returns the last scrub of the btrfs mounted at a path: when it started (None if never),
    its status and its error summary.

    .. code:: python

        {"started": "Sun Nov  1 02:00:01 2026", "status": "finished", "errors": "no errors found"}
    """

    subcommand = "scrub status"

    @override
    def process(self, output) -> dict:
        fields = {key.lower(): value for key, value in colon_fields(output).items()}
        if not fields:
            return {}
        return {"started": fields.get("scrub started"), "status": fields.get("status"),
                "errors": fields.get("error summary")}
