"""Facts about the host's system configuration: fstab, paths, probes, SMART, groups."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

from facts import colon_fields


class FstabEntries(FactBase[list]):
    """
    Returns the entries of /etc/fstab, comments and blank lines left out.

    .. code:: python

        [{"spec": "UUID=0c2d...", "file": "/mnt/storage", "vfstype": "btrfs",
          "options": ["noatime", "compress=zstd:3", "space_cache=v2", "nofail"], "dump": "0", "passno": "0"}]
    """

    command = "cat /etc/fstab 2>/dev/null || true"

    default = list

    @override
    def process(self, output) -> list:
        entries = []
        for line in output:
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 3:
                fields += ["defaults", "0", "0"][len(fields) - 3:]
                spec, file, vfstype, options, dump, passno = fields[:6]
                entries.append({"spec": spec, "file": file, "vfstype": vfstype, "options": options.split(","),
                                "dump": dump, "passno": passno})
        return entries


class PathOwnership(FactBase[dict]):
    """
    Returns owner, group, mode (octal text, setgid included) and type of each existing path of a list;
    missing paths are left out.

    .. code:: python

        {"/mnt/storage/data": {"uid": 101000, "gid": 101000, "mode": "2775", "type": "directory"}}
    """

    @override
    def command(self, paths: list[str]) -> StringCommand:
        return StringCommand("stat -c '%u %g %a %F %n'", *[QuoteString(p) for p in paths], "2>/dev/null || true")

    default = dict

    @override
    def process(self, output) -> dict:
        found = {}
        for line in output:
            uid, gid, mode, rest = line.split(" ", 3)
            kind, _, path = rest.rpartition(" /")
            found["/" + path] = {"uid": int(uid), "gid": int(gid), "mode": mode.zfill(3), "type": kind}
        return found


class HardlinkProbe(FactBase[dict]):
    """
    Returns whether a hard link from one directory into another works, by trying it: creates one
    empty file in the first directory, links it into the second, compares the inodes, and removes
    both, leaving nothing behind. Fails across btrfs subvolumes and across mounts (EXDEV).

    .. code:: python

        {"ok": False, "error": "ln: failed to create hard link ...: Invalid cross-device link"}
    """

    @override
    def command(self, source: str, target: str) -> str:
        return (
            f"f=$(mktemp -p {shlex.quote(source)} .mediabox-hardlink-test.XXXXXX 2>&1) || {{ echo \"$f\"; exit 0; }}; "
            f"t={shlex.quote(target)}/${{f##*/}}; "
            'if ln "$f" "$t" 2>&1 && [ "$(stat -c %i "$f")" = "$(stat -c %i "$t")" ]; then echo ok; fi; '
            'rm -f "$f" "$t"'
        )

    @override
    def process(self, output) -> dict:
        text = "\n".join(output).strip()
        return {"ok": True, "error": None} if text == "ok" else {"ok": False, "error": text or "inodes differ"}


class MaintenanceCheck(FactBase[dict]):
    """
    Returns whether one of the maintenance script's read-only checks (``diskcheck`` on the Proxmox host,
    ``containers`` in a Docker guest) passes now, and what it said.

    .. code:: python

        {"passed": False, "said": "not healthy: radarr exited"}
    """

    SCRIPT = "/usr/local/sbin/mediabox-maintenance"
    read_now = True  # a check sees the moment it runs: never read ahead or kept (mediabox.readahead)

    @override
    def command(self, job: str) -> StringCommand:
        return StringCommand(self.SCRIPT, QuoteString(job), '2>&1; echo "exit=$?"')

    @override
    def process(self, output) -> dict:
        lines = [line.strip() for line in output if line.strip()]
        code = lines.pop() if lines and lines[-1].startswith("exit=") else "exit=?"
        return {"passed": code == "exit=0", "said": " ".join(lines)}


class SmartSupport(FactBase[dict]):
    """
    Returns whether smartctl can read SMART data from a device (loop devices and some USB
    bridges cannot), with the model and serial it reports.

    .. code:: python

        {"available": True, "model": "WDC WD40EFRX-68N32N0", "serial": "WD-WCC7K1234567"}
    """

    @override
    def requires_command(self, *args, **kwargs) -> str:
        return "smartctl"

    @override
    def command(self, device: str) -> StringCommand:
        return StringCommand("smartctl -i", QuoteString(device), "2>&1 || true")

    @staticmethod
    @override
    def default() -> dict:
        return {"available": False}

    @override
    def process(self, output) -> dict:
        fields = colon_fields(output)
        available = fields.get("SMART support is", "").startswith("Available")
        return {"available": available, "model": fields.get("Device Model") or fields.get("Model Number"),
                "serial": fields.get("Serial Number")}


class GroupId(FactBase):
    """
    Returns the numeric id of a group, or None when the host has no such group.

    .. code:: python

        104
    """

    @override
    def command(self, group: str) -> StringCommand:
        return StringCommand("getent group", QuoteString(group), "| cut -d: -f3 || true")

    @override
    def process(self, output):
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None


class FileStates(FactBase[dict]):
    """
    Returns the mode, owner and SHA-256 of each of these paths that is a regular file, in one command (one stat
    and one sha256sum for all of them: a loop of both per file spent ~25 ms on eight).

    .. code:: python

        {"/etc/mediabox/notify.env": {"mode": "600", "owner": "root:root", "sha256": "9a0c…"}}
    """

    @override
    def command(self, paths: list[str]) -> StringCommand:
        quoted = [QuoteString(path) for path in paths]
        return StringCommand("stat -L -c 'stat %F|%a %U:%G|%n' --", *quoted, "2>/dev/null; sha256sum --", *quoted,
                             "2>/dev/null; true")

    default = dict

    @override
    def process(self, output) -> dict:
        found, digests = {}, {}
        for line in output:
            if line.startswith("stat "):
                kind, mode_owner, path = line.removeprefix("stat ").split("|", 2)
                if kind.startswith("regular"):  # "regular file", "regular empty file"
                    mode, owner = mode_owner.split(" ", 1)
                    found[path] = {"mode": mode, "owner": owner}
            elif line.strip():
                digest, path = line.split(None, 1)  # sha256sum's "<digest>  <path>"
                digests[path.strip()] = digest
        return {path: {**state, "sha256": digests.get(path)} for path, state in found.items()}


class UnitStates(FactBase[dict]):
    """
    Returns whether each of these systemd units is enabled and active, in one ``systemctl show`` (a unit
    systemd does not know is neither).

    .. code:: python

        {"mediabox-scrub.timer": {"enabled": True, "active": False}}
    """

    @override
    def command(self, units: list[str]) -> StringCommand:
        return StringCommand("systemctl show --property=Id,UnitFileState,ActiveState --",
                             *(QuoteString(unit) for unit in units))

    default = dict

    @override
    def process(self, output) -> dict:
        found: dict[str, dict] = {}
        unit = None
        for line in output:
            key, _, value = line.strip().partition("=")
            if key == "Id":
                unit = found.setdefault(value, {"enabled": False, "active": False})
            elif unit is not None and key == "UnitFileState":
                unit["enabled"] = value == "enabled"
            elif unit is not None and key == "ActiveState":
                unit["active"] = value == "active"
        return found


class Account(FactBase[dict]):
    """
    Returns a user's group (of the same name) and passwd entry, in one command: None for what is missing.

    .. code:: python

        {"gid": 1000, "user": {"uid": 1000, "gid": 1000, "home": "/nonexistent", "shell": "/usr/sbin/nologin"}}
    """

    @override
    def command(self, user: str) -> StringCommand:
        return StringCommand("echo group:$(getent group", QuoteString(user), "| cut -d: -f3); getent passwd",
                             QuoteString(user), "; true")

    @override
    def process(self, output) -> dict:
        found: dict = {"gid": None, "user": None}
        for line in output:
            if line.startswith("group:"):
                gid = line.removeprefix("group:").strip()
                found["gid"] = int(gid) if gid.isdigit() else None
            elif line.count(":") == 6:
                _, _, uid, gid, _, home, shell = line.strip().split(":")
                found["user"] = {"uid": int(uid), "gid": int(gid), "home": home, "shell": shell}
        return found
