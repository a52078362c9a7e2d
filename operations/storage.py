"""Operations for the pool's mount and layout: fstab, mount, directories with ownership, hard links; snapshots of
appdata and restores from them; and the apps' config files seeded into appdata before their first start."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from io import StringIO

from pyinfra import host, logger
from pyinfra.api import (
    FileUploadCommand,
    OperationError,
    OperationValueError,
    QuoteString,
    StringCommand,
    operation,
)
from pyinfra.facts.files import Directory, File
from pyinfra.facts.server import Mounts

from facts.btrfs import BtrfsSubvolumes
from facts.disks import BlockDevice
from facts.system import FstabEntries, HardlinkProbe, PathOwnership
from mediabox import plan
from mediabox.apps import AppCommand, AppError, refusal
from mediabox.readahead import reads


@reads(lambda device, **_: [(BlockDevice, {"device": device}), (FstabEntries, {})])
@operation()
def fstab_entry(path: str, device: str, fstype: str, options: list[str]):
    """
    Ensure the one /etc/fstab line for a mount point names the filesystem on a device by UUID.

    + path: the mount point
    + device: a device of the filesystem (any member of a btrfs pool); its UUID is read at run
      time, so the line can follow a filesystem made earlier in the same run
    + fstype: the filesystem type
    + options: the mount options, e.g. ``["noatime", "compress=zstd:3", "nofail"]``

    **Example:**

    .. code:: python

        storage.fstab_entry(path="/mnt/storage", device="/dev/disk/by-id/ata-A_1", fstype="btrfs",
                            options=["noatime", "compress=zstd:3", "space_cache=v2", "nofail"])
    """
    if not path.startswith("/") or not options:
        raise OperationValueError(f"fstab_entry needs an absolute path and options, got {path!r} {options!r}")
    uuids = [sig["uuid"] for sig in host.get_fact(BlockDevice, device=device).get("signatures", [])
             if sig["type"] == fstype and sig.get("uuid")]
    lines = [entry for entry in host.get_fact(FstabEntries) if entry["file"] == path]
    wanted = {"spec": f"UUID={uuids[0]}", "file": path, "vfstype": fstype, "options": options,
              "dump": "0", "passno": "0"} if uuids else None
    if wanted and lines == [wanted]:
        host.noop(f"/etc/fstab mounts {path} by UUID")
        return
    line = f"UUID=%s {path} {fstype} {','.join(options)} 0 0"
    yield (
        f"uuid=$(blkid -p -s UUID -o value {shlex.quote(device)}) && [ -n \"$uuid\" ] && "
        f"sed -i '\\#^[^#]*[[:space:]]{path}[[:space:]]#d' /etc/fstab && "
        f"printf '{line}\\n' \"$uuid\" >> /etc/fstab"
    )


@reads(lambda **_: [(Mounts, {})])
@operation()
def mounted(path: str, fstype: str, options: list[str]):
    """
    Ensure a path is mounted as its /etc/fstab line says, with at least these options.

    + path: the mount point (its fstab line must exist)
    + fstype: the filesystem type the mount must have
    + options: options the mount must show, as the kernel spells them (``compress=zstd:3``)

    A btrfs pool's devices are registered first (``btrfs device scan``), as udev does at boot.
    A mount with a missing option is remounted; a mount of another type is an error.

    **Example:**

    .. code:: python

        storage.mounted(path="/mnt/storage", fstype="btrfs", options=["noatime", "compress=zstd:3"])
    """
    current = host.get_fact(Mounts).get(path)
    if current:
        if current["type"] != fstype:
            raise OperationError(f"{path} is mounted as {current['type']} from {current['device']}, not {fstype}")
        lacking = [option for option in options if option not in current["options"]]
        if not lacking:
            host.noop(f"{path} is mounted")
            return
        yield StringCommand("mount -o", QuoteString(",".join(["remount", *lacking])), QuoteString(path))
        return
    yield StringCommand("mkdir -p", QuoteString(path))
    if fstype == "btrfs":
        yield "btrfs device scan >/dev/null"
    yield StringCommand("mount", QuoteString(path))


@reads(lambda paths, **_: [(PathOwnership, {"paths": paths})])
@operation()
def directories(paths: list[str], uid: int, gid: int, mode: str, inside: str | None = None):
    """
    Ensure directories exist with one owner, group and mode; changes only what differs.

    + paths: the directories, parents before children
    + uid, gid: numeric owner and group (an unprivileged guest's 1000 is the host's 101000)
    + mode: octal mode text, e.g. ``"2775"`` (setgid keeps the group on new files)
    + inside: a mount point that must be mounted, so nothing is ever written to the disk beneath it

    **Example:**

    .. code:: python

        storage.directories(paths=["/mnt/storage/data/media"], uid=101000, gid=101000, mode="2775",
                            inside="/mnt/storage")
    """
    if not paths or any(not p.startswith("/") for p in paths):
        raise OperationValueError(f"directories needs absolute paths, got {paths!r}")
    if inside and any(not p.startswith(inside.rstrip("/") + "/") for p in paths):
        raise OperationValueError(f"every path must be inside {inside}")
    found = host.get_fact(PathOwnership, paths=paths)
    create = [p for p in paths if p not in found]
    chown = create + [p for p in paths if p in found and (found[p]["uid"], found[p]["gid"]) != (uid, gid)]
    chmod = create + [p for p in paths if p in found and found[p]["mode"] != mode]
    if not (create or chown or chmod):
        host.noop(f"{len(paths)} directories exist with {uid}:{gid} {mode}")
        return
    if inside:
        yield StringCommand("mountpoint -q", QuoteString(inside))
    if create:
        yield StringCommand("mkdir -p", *map(QuoteString, create))
    if chown:
        yield StringCommand("chown", f"{uid}:{gid}", *map(QuoteString, chown))
    if chmod:
        yield StringCommand("chmod", mode, *map(QuoteString, chmod))


@reads(lambda source, target: [(HardlinkProbe, {"source": source, "target": target})])
@operation()
def hardlinks_work(source: str, target: str):
    """
    Check that a file in one directory can be hard-linked into another (same subvolume, same mount):
    what makes imports from downloads into media instant and free of copies.

    + source: where downloads land, e.g. ``/mnt/storage/data/downloads``
    + target: the library, e.g. ``/mnt/storage/data/media``

    The check links one empty file and removes both. It runs at prepare when both directories
    exist (then a pass changes nothing); on a first run it runs after the directories are made.
    A failure stops the run with the reason.

    **Example:**

    .. code:: python

        storage.hardlinks_work(source="/mnt/storage/data/downloads", target="/mnt/storage/data/media")
    """
    probe = host.get_fact(HardlinkProbe, source=source, target=target)
    if probe["ok"]:
        host.noop(f"hard links from {source} into {target} work")
        return
    if "mktemp" not in probe["error"]:
        raise OperationError(_hardlink_failure(source, target, probe["error"]))
    check = HardlinkProbe().command(source=source, target=target)
    reason = shlex.quote(_hardlink_failure(source, target, ""))
    yield f'out=$({check}); [ "$out" = ok ] || {{ echo {reason}"$out" >&2; exit 1; }}'


def _hardlink_failure(source: str, target: str, error: str) -> str:
    return (f"hard links from {source} into {target} fail, so every import would be a full copy. Keep downloads/ "
            "and media/ as plain directories in ONE subvolume, reached through one mount. Error: " + error)


BEFORE_RESTORE = "-before-restore"  # the suffix of the snapshot a restore takes of what it replaces
# Guests whose appdata snapshot was taken in this run: the Proxmox host that took it, the pool's mount and the
# snapshot's name. docker.compose_project requires it before it changes anything, and rolls a failed update
# back from it.
SNAPSHOTS_TAKEN: dict[str, tuple[str, str, str]] = {}


@operation()
def appdata_snapshot(mount: str, changes: dict[str, list[str]]):
    """
    Take a read-only snapshot of appdata (the maintenance job's, named appdata-<time> and pruned by its
    retention) before guests' stacks change the apps' state; nothing when no guest changes. Each guest
    is then recorded in SNAPSHOTS_TAKEN, which the guest's compose_project requires before it writes and
    restores a failed update's appdata from.

    + mount: where the pool is mounted
    + changes: what is about to change, by guest, e.g. ``{"media": ["compose.yaml differs"]}``

    **Example:**

    .. code:: python

        storage.appdata_snapshot(mount="/mnt/storage", changes={"media": ["compose.yaml differs"]})
    """
    if not mount.startswith("/"):
        raise OperationValueError(f"mount must be an absolute path, got {mount!r}")
    guests = sorted(guest for guest, found in changes.items() if found)
    if not guests:
        host.noop("nothing changes: no snapshot of appdata needed")
        return
    for guest in guests:
        plan.note(f"read-only snapshot of {mount}/appdata before {guest}'s stack changes")
    yield "systemctl start mediabox-snapshot.service"
    yield AppCommand(_record_snapshot, (SNAPSHOTS_TAKEN, guests, mount), {})


def _record_snapshot(state, host, taken: dict[str, tuple[str, str, str]], guests: list[str], mount: str) -> None:
    newest = _latest(_snapshots(host, mount))
    if newest is None:
        raise AppError(f"no snapshot of appdata in {mount}/snapshots after mediabox-snapshot.service ran: see "
                       "`journalctl -u mediabox-snapshot.service` on the host. The guests' stacks are left unchanged.")
    taken.update({guest: (host.name, mount, newest) for guest in guests})


def _snapshots(host, mount: str) -> list[str]:
    """The names of the read-only snapshots of appdata in <mount>/snapshots, oldest first (by the time in them)."""
    return sorted(path.split("/", 1)[1] for path in host.get_fact(BtrfsSubvolumes, path=mount)
                  if path.startswith("snapshots/appdata-"))


def _latest(snapshots: list[str]) -> str | None:
    """The newest snapshot that a restore did not take."""
    return next((name for name in reversed(snapshots) if not name.endswith(BEFORE_RESTORE)), None)


@operation(is_idempotent=False)
def appdata_restore(mount: str, services: list[str], snapshot: str = "latest", every: bool = False):
    """
    Bring services' appdata folders back from a read-only snapshot of appdata: first a read-only snapshot of
    appdata as it is now (``appdata-<time>-before-restore``, pruned by the same retention), then each folder
    made the same as the snapshot's (rsync, numeric ids). Stop the services first: the restore deploy does.

    + mount: where the pool is mounted
    + services: the services (appdata folder names) to restore
    + snapshot: ``latest`` (the newest snapshot not taken by a restore) or a name in ``<mount>/snapshots``
    + every: the services are all of the stack's: one missing from the snapshot (enabled since) is skipped

    **Example:**

    .. code:: python

        storage.appdata_restore(mount="/mnt/storage", services=["sonarr"], snapshot="appdata-2026-12-01T030000")
    """
    if not mount.startswith("/") or not services or any("/" in name or not name for name in services):
        raise OperationValueError(f"a restore needs the pool's mount and service folder names, got {mount!r}, "
                                  f"{services!r}")
    taken = _snapshots(host, mount)
    chosen = _latest(taken) if snapshot == "latest" else snapshot
    if chosen not in taken:
        yield refusal(f"no snapshot {snapshot!r} of appdata in {mount}/snapshots (there are: "
                      f"{', '.join(taken) or 'none'}). Fix: set restore_snapshot to one of those, or 'latest'. "
                      "Nothing was restored.")
        return
    present = [name for name in services if host.get_fact(Directory, path=f"{mount}/snapshots/{chosen}/{name}")]
    missing = sorted(set(services) - set(present))
    if missing and not every:
        yield refusal(f"snapshot {chosen} holds no appdata for {', '.join(missing)}: it was taken before they ran. "
                      "Fix: choose a later snapshot (restore_snapshot). Nothing was restored.")
        return
    if missing:
        logger.info(f"{host.print_prefix}{', '.join(missing)}: not in {chosen} (enabled since), left as they are")
    logger.info(f"{host.print_prefix}restoring the appdata of {', '.join(present)} from {chosen}")
    yield restore_command(mount, chosen, present)


def restore_command(mount: str, snapshot: str, services: list[str]) -> str:
    """The shell command of a restore: a read-only snapshot of appdata as it is, then each service's folder made
    the same as the snapshot's."""
    appdata = shlex.quote(f"{mount}/appdata")
    before = shlex.quote(f"{mount}/snapshots/appdata-") + f'"$(date +%Y-%m-%dT%H%M%S)"{BEFORE_RESTORE}'
    copies = [f"rsync -a --delete --numeric-ids {shlex.quote(f'{mount}/snapshots/{snapshot}/{name}/')} "
              f"{shlex.quote(f'{mount}/appdata/{name}/')}" for name in services]
    return " && ".join([f"btrfs subvolume snapshot -r {appdata} {before} >/dev/null", *copies])


@reads(lambda path, **_: [(File, {"path": path})])
@operation()
def seed_file(path: str, text: str | Callable[[], str], owner: str, kept_by: str):
    """
    Write an app's config file before the app first starts (its password hash, its API key): the folder is
    made 0750 and the file 0600, both owned by the app's user. An existing file is the app's own and is never
    touched; the wiring checks what the app kept.

    + path: the file as the guest sees it, e.g. ``/appdata/mylar3/mylar/config.ini``
    + text: the file's content, or a function that makes it (called only when the file is written)
    + owner: ``uid:gid`` the app runs as
    + kept_by: the app, for the no-change message, e.g. ``Mylar3``

    **Example:**

    .. code:: python

        storage.seed_file(path="/appdata/mylar3/mylar/config.ini", text=ini, owner="1000:1000", kept_by="Mylar3")
    """
    if not path.startswith("/") or ":" not in owner or not text:
        raise OperationValueError(f"seed_file needs an absolute path, a uid:gid owner and a text, got {path!r}, "
                                  f"{owner!r}")
    if host.get_fact(File, path=path):
        host.noop(f"{path} exists ({kept_by} keeps it)")
        return
    uid, gid = owner.split(":")
    text = text() if callable(text) else text
    plan.note(f"{path}: seed it before {kept_by}'s first start")
    yield StringCommand(f"install -d -o {uid} -g {gid} -m 750 {shlex.quote(posixpath.dirname(path))}")
    yield FileUploadCommand(StringIO(text), path, remote_temp_filename=host.get_temp_filename(path))
    yield StringCommand(f"chown {owner} {shlex.quote(path)} && chmod 600 {shlex.quote(path)}")
