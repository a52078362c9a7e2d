"""Operations for the btrfs RAID1 pool: create or adopt it safely, its profiles, its subvolumes."""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import OperationError, OperationValueError, QuoteString, StringCommand, operation

from facts.btrfs import BtrfsFilesystems, BtrfsProfiles, BtrfsSubvolumes
from facts.disks import BlockDevice
from mediabox.readahead import reads
from mediabox.settings import disk_serial


@reads(lambda disks, **_: [*((BlockDevice, {"device": disk}) for disk in disks), (BtrfsFilesystems, {})])
@operation()
def pool(label: str, disks: list[str], wipe_serials: list[str] | tuple[str, ...] = ()):
    """
    Ensure a btrfs pool with RAID1 data and metadata on two disks, never overwriting anything by accident.

    + label: the filesystem label
    + disks: the two disks, by /dev/disk/by-id path
    + wipe_serials: serials of disks that may be wiped although something is on them

    A pool with this label on both disks is adopted, never recreated. Blank disks get a new pool.
    A disk with any signature, partition table or mount is refused, naming what is on it, unless its
    serial is in ``wipe_serials``. A missing disk (a degraded pool) stops the run with the recovery
    steps; nothing is mounted degraded or rebuilt on its own. mkfs.btrfs runs without ``-f``, so it
    refuses an existing filesystem too.

    **Example:**

    .. code:: python

        btrfs.pool(label="media", disks=["/dev/disk/by-id/ata-A_1", "/dev/disk/by-id/ata-B_2"])
    """
    if len(disks) != 2 or len(set(disks)) != 2:
        raise OperationValueError(f"a RAID1 pool needs two different disks, got {disks}")
    seen = {disk: host.get_fact(BlockDevice, device=disk) for disk in disks}
    members = {disk: sig for disk, info in seen.items() for sig in info.get("signatures", [])
               if sig["type"] == "btrfs" and sig["label"] == label}
    missing = [disk for disk, info in seen.items() if not info["present"]]
    if missing:
        if members:
            raise OperationError(_degraded(label, next(iter(members.values()))["uuid"], missing, members))
        raise OperationError(f"disk {missing[0]} is not on {host.name}: check pool_disks against "
                             "`ls -l /dev/disk/by-id/` on the host. Nothing was written.")

    uuids = {sig["uuid"] for sig in members.values()}
    if len(members) == 2 and len(uuids) == 1:
        uuid = uuids.pop()
        filesystem = host.get_fact(BtrfsFilesystems).get(uuid, {})
        if filesystem.get("missing"):
            gone = [disk for disk in disks if seen[disk]["device"] not in filesystem["devices"].values()]
            raise OperationError(_degraded(label, uuid, gone or ["a device"], members))
        host.noop(f"btrfs pool '{label}' ({uuid}) is on both disks")
        return
    if members:
        raise OperationError(
            f"only {', '.join(members)} carries pool '{label}' ({', '.join(sorted(uuids))}); "
            f"{', '.join(d for d in disks if d not in members)} does not. The pool is degraded or half-built: "
            "nothing was written. Mount it by hand with -o degraded and `btrfs replace` the other disk "
            "(see the README's storage section), or wipe both disks yourself to start over.")

    used = {disk: info for disk, info in seen.items()
            if info["signatures"] or info["partitions"] or info["mountpoints"]}
    refused = [disk for disk in used if disk_serial(disk) not in wipe_serials or used[disk]["mountpoints"]]
    if refused:
        raise OperationError("\n".join(_refusal(disk, used[disk]) for disk in refused))
    for disk in used:
        logger.warning(f"{host.print_prefix}wiping {disk} ({_contents(used[disk])}): "
                       "its serial is in pool_wipe_serials")
        yield StringCommand("wipefs", "--all", QuoteString(disk))
    yield StringCommand("mkfs.btrfs", "--label", QuoteString(label), "--metadata", "raid1", "--data", "raid1",
                        *[QuoteString(disk) for disk in disks])


def _contents(info: dict) -> str:
    parts = [f"{sig['type']}" + (f" '{sig['label']}'" if sig.get("label") else "") for sig in info["signatures"]]
    parts += [f"partition {p}" for p in info["partitions"]]
    parts += [f"mounted at {m}" for m in info["mountpoints"]]
    return ", ".join(parts)


def _refusal(disk: str, info: dict) -> str:
    serial = disk_serial(disk)
    if info["mountpoints"]:
        return f"disk {disk} ({info['device']}) is in use ({_contents(info)}): not written. Unmount it first."
    return (f"disk {disk} ({info['device']}, serial {serial}) is not blank: {_contents(info)}. Nothing was "
            f"written to it. If what is on it may go, back it up, then add '{serial}' to pool_wipe_serials.")


def _degraded(label: str, uuid: str, missing: list[str], members: dict) -> str:
    present = next(iter(members))
    return (
        f"pool '{label}' ({uuid}) is degraded: {', '.join(missing)} is missing. Nothing was written; the engine "
        "never mounts a pool degraded or rebuilds it on its own. To recover:\n"
        f"  1. mount it degraded by hand: mount -o degraded,noatime {present} /mnt/storage\n"
        "  2. find the missing devid: btrfs filesystem show /mnt/storage\n"
        "  3. replace the disk: btrfs replace start -B <missing devid> /dev/disk/by-id/<new disk> /mnt/storage\n"
        "  4. restore RAID1 for what was written meanwhile: "
        "btrfs balance start -dconvert=raid1,soft -mconvert=raid1,soft /mnt/storage\n"
        "  5. put the new disk in pool_disks, umount, and run the deploy again")


@reads(lambda path, **_: [(BtrfsProfiles, {"path": path})])
@operation()
def raid1_profiles(path: str, convert: bool = False):
    """
    Check that the btrfs mounted at a path keeps data and metadata in RAID1; convert by balance
    only when asked.

    + path: the pool's mount point
    + convert: run a converting balance when a profile is not RAID1 (single or dup)

    **Example:**

    .. code:: python

        btrfs.raid1_profiles(path="/mnt/storage", convert=False)
    """
    if not path.startswith("/"):
        raise OperationValueError(f"path must be absolute, got {path!r}")
    profiles = host.get_fact(BtrfsProfiles, path=path)
    if not profiles:
        host.noop(f"{path} is not mounted yet; a new pool is made RAID1")
        return
    wrong = {kind: names for kind, names in profiles.items() if names != ["RAID1"]}
    if not wrong:
        host.noop(f"{path} keeps data and metadata in RAID1")
        return
    found = "; ".join(f"{kind} {'+'.join(names)}" for kind, names in sorted(wrong.items()))
    if not convert:
        logger.warning(f"{host.print_prefix}{path} is not fully RAID1 ({found}): one disk failing loses data. "
                       "Set pool_convert_to_raid1 = True to convert it with a balance.")
        host.noop(f"{path} is not fully RAID1 ({found}); conversion not enabled")
        return
    yield StringCommand("btrfs balance start -dconvert=raid1,soft -mconvert=raid1,soft", QuoteString(path))


@reads(lambda mount, **_: [(BtrfsSubvolumes, {"path": mount})])
@operation()
def subvolume(mount: str, subvolume: str):
    """
    Ensure a subvolume directly under a mounted btrfs. Never deletes one.

    + mount: where the pool is mounted (its top level)
    + subvolume: the subvolume's name, e.g. ``data``

    **Example:**

    .. code:: python

        btrfs.subvolume(mount="/mnt/storage", subvolume="appdata")
    """
    if not subvolume or "/" in subvolume or subvolume in (".", ".."):
        raise OperationValueError(f"a subvolume name is one path component, got {subvolume!r}")
    if subvolume in host.get_fact(BtrfsSubvolumes, path=mount):
        host.noop(f"subvolume {mount}/{subvolume} exists")
        return
    yield StringCommand("btrfs subvolume create", QuoteString(f"{mount}/{subvolume}"))
