"""Operations for the host system: packages, kernel settings, small files and systemd units, changed only where
they differ."""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, OperationValueError, StringCommand, operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.server import Sysctl
from pyinfra.operations import apt, files, server, systemd

from facts.system import Account, FileStates, MaintenanceCheck, SmartSupport, UnitStates
from mediabox import plan
from mediabox.apps import preparing
from mediabox.readahead import reads


@reads(lambda names: [(DebPackages, {})])
@operation()
def packages(names: list[str]):
    """
    Ensure Debian packages are installed; apt's lists are refreshed only when one is missing,
    so a converged host runs nothing.

    + names: package names

    **Example:**

    .. code:: python

        system.packages(names=["btrfs-progs", "smartmontools"])
    """
    if not names:
        raise OperationValueError("packages needs at least one package name")
    installed = host.get_fact(DebPackages)
    missing = [name for name in names if name not in installed]
    if not missing:
        host.noop(f"{', '.join(names)} installed")
        return
    yield from apt.update._inner()
    yield from apt.packages._inner(packages=missing, no_recommends=True)


@reads(lambda key, **_: [(Sysctl, {"keys": [key]})])
@operation()
def sysctl_at_least(key: str, minimum: int, persist_file: str):
    """
    Ensure a numeric kernel setting is at least a value, now and after reboot; a higher value is kept.

    + key: the sysctl, e.g. ``vm.max_map_count``
    + minimum: the lowest acceptable value
    + persist_file: the sysctl.d file that keeps it across reboots

    **Example:**

    .. code:: python

        system.sysctl_at_least(key="vm.max_map_count", minimum=262144,
                               persist_file="/etc/sysctl.d/60-mediabox.conf")
    """
    if not persist_file.startswith("/etc/sysctl.d/"):
        raise OperationValueError(f"persist_file must be in /etc/sysctl.d/, got {persist_file!r}")
    current = host.get_fact(Sysctl, keys=[key]).get(key)
    if not isinstance(current, int):
        raise OperationValueError(f"{key} is not a numeric sysctl on {host.name} (read {current!r})")
    yield from server.sysctl._inner(key=key, value=max(current, minimum), persist=True, persist_file=persist_file)


@reads(lambda disks, **_: [(SmartSupport, {"device": disk}) for disk in disks])
@operation()
def smartd(disks: list[str], notify_command: str):
    """
    Ensure smartd watches the disks that report SMART (short self-test daily, long weekly), running
    a command on trouble; nothing is set up when none does (loop devices, some USB bridges).

    + disks: the disks, by /dev/disk/by-id path
    + notify_command: what smartd runs on a problem (it passes the message in SMARTD_MESSAGE)

    **Example:**

    .. code:: python

        system.smartd(disks=["/dev/disk/by-id/ata-A_1"], notify_command="/usr/local/sbin/mediabox-maintenance")
    """
    if not disks or not notify_command.startswith("/"):
        raise OperationValueError("smartd needs disks and an absolute notify_command")
    watched = [disk for disk in disks if host.get_fact(SmartSupport, device=disk)["available"]]
    if not watched:
        host.noop("no disk reports SMART; smartd is not set up")
        return
    conf = "# Managed by mediabox: edits are overwritten.\n" + "".join(
        f"{disk} -a -o on -S on -s (S/../.././02|L/../../6/03) -M exec {notify_command}\n" for disk in watched)
    written = list(files.put._inner(src=StringIO(conf), dest="/etc/smartd.conf", mode="644"))
    yield from written
    yield from systemd.service._inner(service="smartd", running=True, enabled=True, restarted=bool(written))


CHECKS = {"diskcheck": "the pool's free space and btrfs device errors", "containers": "every container of the stack"}


@operation()
def check_passes(job: str):
    """
    Check, changing nothing, that one of the maintenance script's checks passes now: ``diskcheck`` (the pool
    mounted, its free space, btrfs device errors) on the Proxmox host, ``containers`` (every container of the
    stack running, none unhealthy) in a Docker guest. Stops the run with what the check said; while pyinfra
    prepares (``--dry``, or before asking to go on) a failure is only reported, as this run may fix it.

    + job: ``diskcheck`` or ``containers``

    **Example:**

    .. code:: python

        system.check_passes(job="containers")
    """
    if job not in CHECKS:
        raise OperationValueError(f"job is one of {', '.join(CHECKS)}, got {job!r}")
    found = host.get_fact(MaintenanceCheck, job=job)
    if not found["passed"] and preparing():  # the run's changes (a stopped container started) come before it
        host.noop(f"{job} fails now ({found['said']}); checked again after this run's changes")
        return
    if not found["passed"]:
        raise OperationError(f"{CHECKS[job]}: {found['said'] or 'the check failed'}. Fix what it names (the "
                             "verify suite, `pytest tests/verify`, checks the rest) and run the deploy again.")
    host.noop(f"{job}: {found['said']}")
    yield from ()  # a check: it never yields a command


@reads(lambda files, absent: [(FileStates, {"paths": [*files, *(absent or [])]})])
@operation()
def files_present(files: dict[str, list[str]], absent: list[str] | None = None):
    """
    Ensure small files have this text and mode, owned by root, and that others are absent: all of them read in
    one command (one pyinfra files.put reads three), each written only when it differs.

    + files: the text and the mode of each file, by absolute path: ``{path: [text, "644"]}``
    + absent: files that must not exist

    **Example:**

    .. code:: python

        system.files_present(files={"/etc/mediabox/maintenance.env": ["POOL_MOUNT=/mnt/storage\\n", "644"]},
                             absent=["/etc/mediabox/notify.env"])
    """
    absent = list(absent or [])
    paths = [*files, *absent]
    if not paths or any(not p.startswith("/") for p in paths) or set(files) & set(absent):
        raise OperationValueError(f"files_present needs absolute paths, each either present or absent, got {paths!r}")
    if any(not re.fullmatch(r"[0-7]{3,4}", mode) for _, mode in files.values()):
        raise OperationValueError(f"files_present needs octal modes, got {[m for _, m in files.values()]!r}")
    found = host.get_fact(FileStates, paths=paths)
    digest = {path: hashlib.sha256(text.encode()).hexdigest() for path, (text, _) in files.items()}
    to_write = [path for path in files if found.get(path, {}).get("sha256") != digest[path]]
    folders = dict.fromkeys(posixpath.dirname(path) for path in to_write)
    if folders:
        yield StringCommand("install -d -m 755 " + " ".join(shlex.quote(folder) for folder in folders))
    todo = []
    for path, (text, mode) in files.items():
        current = found.get(path)
        if path in to_write:
            todo.append(path)
            plan.note(f"{path}: {'write' if current else 'create'}")
            yield FileUploadCommand(StringIO(text), path, remote_temp_filename=host.get_temp_filename(path))
        elif (current["mode"], current["owner"]) == (mode.lstrip("0") or "0", "root:root"):
            continue
        else:
            todo.append(path)
            plan.note(f"{path}: mode {current['mode']} {current['owner']} -> {mode} root:root")
        yield StringCommand(f"chown root:root {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}")
    for path in absent:
        if path in found:
            todo.append(path)
            plan.note(f"{path}: remove")
            yield StringCommand(f"rm -f {shlex.quote(path)}")
    if not todo:
        host.noop(f"{len(paths)} files as they should be")


@reads(lambda units: [(UnitStates, {"units": units})])
@operation()
def units_on(units: list[str]):
    """
    Ensure systemd units are enabled and running (a timer: started), all read in one command.

    + units: unit names, e.g. ``mediabox-scrub.timer``

    **Example:**

    .. code:: python

        system.units_on(units=["mediabox-scrub.timer", "mediabox-snapshot.timer"])
    """
    _check_unit_names("units_on", units)
    found = host.get_fact(UnitStates, units=units)
    todo = [u for u in units if not (found.get(u, {}).get("enabled") and found.get(u, {}).get("active"))]
    if not todo:
        host.noop(f"{', '.join(units)} on")
        return
    plan.note(f"enable and start {', '.join(todo)}")
    yield StringCommand("systemctl enable --now " + " ".join(shlex.quote(u) for u in todo))


@reads(lambda units: [(UnitStates, {"units": units})])
@operation()
def units_off(units: list[str]):
    """
    Ensure systemd units are stopped and disabled, all read in one command.

    + units: unit names, e.g. ``nmbd.service``

    **Example:**

    .. code:: python

        system.units_off(units=["nmbd.service"])
    """
    _check_unit_names("units_off", units)
    found = host.get_fact(UnitStates, units=units)
    todo = [u for u in units if found.get(u, {}).get("enabled") or found.get(u, {}).get("active")]
    if not todo:
        host.noop(f"{', '.join(units)} off")
        return
    plan.note(f"stop and disable {', '.join(todo)}")
    yield StringCommand("systemctl disable --now " + " ".join(shlex.quote(u) for u in todo))


def _check_unit_names(operation_name: str, units: list[str]) -> None:
    if not units or any(not re.fullmatch(r"[A-Za-z0-9@._-]+\.(service|timer|socket|mount)", u) for u in units):
        raise OperationValueError(f"{operation_name} needs systemd unit names, got {units!r}")


@reads(lambda user, **_: [(Account, {"user": user})])
@operation()
def account(user: str, uid: int, gid: int, shell: str = "/usr/sbin/nologin", home: str = "/nonexistent"):
    """
    Ensure a system user with its own group of the same name, with these ids, shell and home (never created),
    read in one command (pyinfra's server.user lists every user of the host first).

    + user: the user and group name
    + uid, gid: their ids (files written as this user belong to the same ids as the apps' files)
    + shell, home: its login shell and home folder

    **Example:**

    .. code:: python

        system.account(user="media", uid=1000, gid=1000)
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user) or not shell.startswith("/") or not home.startswith("/"):
        raise OperationValueError(f"account needs a user name and absolute shell and home, got {user!r}, {shell!r}, "
                                  f"{home!r}")
    found = host.get_fact(Account, user=user)
    name = shlex.quote(user)
    if found["gid"] is None:
        plan.note(f"group {user} ({gid}): create")
        yield f"groupadd -g {int(gid)} {name}"
    elif found["gid"] != gid:
        plan.note(f"group {user}: gid {found['gid']} -> {gid}")
        yield f"groupmod -g {int(gid)} {name}"
    wanted = {"uid": uid, "gid": gid, "home": home, "shell": shell}
    current = found["user"]
    if current is None:
        plan.note(f"user {user} ({uid}): create")
        yield f"useradd -u {int(uid)} -g {name} -d {shlex.quote(home)} -M -s {shlex.quote(shell)} {name}"
    elif current != wanted:
        flags = {"uid": f"-u {int(uid)}", "gid": f"-g {name}", "home": f"-d {shlex.quote(home)}",
                 "shell": f"-s {shlex.quote(shell)}"}
        differ = [key for key in wanted if current[key] != wanted[key]]
        plan.note(f"user {user}: " + ", ".join(f"{key}: {current[key]} -> {wanted[key]}" for key in differ))
        yield f"usermod {' '.join(flags[key] for key in differ)} {name}"
    elif found["gid"] == gid:
        host.noop(f"user and group {user} ({uid}:{gid})")
