"""Changes to the lab machine's own configuration, recorded so `down` undoes exactly them.

- /etc/subuid and /etc/subgid need root:100000:65536 for the unprivileged container (else newuidmap
  refuses the mapping). The line is added only if missing, and removed at `down` only if the lab added it.
- lab-pve is privileged with a writable /proc/sys (later stages set vm.max_map_count "on the PVE host").
  Global sysctls written there change the lab machine itself, so `up` snapshots them once and `down`
  puts back any that changed.
"""

import json
import os

from . import topology
from .shell import say, write_file

STEP = "host-config"
# Kept apart from state.json (which is runtime state): this is what `down` owes the lab machine.
RECORD_FILE = os.path.join(topology.LAB_DIR, "host-changes.json")
SUBID_FILES = ("/etc/subuid", "/etc/subgid")

# Global (not per-network-namespace) sysctls the stages may set on the "PVE host".
WATCHED_SYSCTLS = [
    "vm.max_map_count", "vm.swappiness", "vm.overcommit_memory", "vm.dirty_ratio", "vm.dirty_background_ratio",
    "fs.inotify.max_user_watches", "fs.inotify.max_user_instances", "fs.file-max", "kernel.pid_max",
    "kernel.keys.maxkeys", "kernel.keys.maxbytes", "kernel.sysrq",
]


def load():
    """The record of host changes ({} when the lab changed nothing)."""
    try:
        with open(RECORD_FILE) as src:
            return json.load(src)
    except FileNotFoundError:
        return {}


def save(record):
    """Write the record; remove the file once there is nothing left to undo."""
    if any(record.values()):
        os.makedirs(topology.LAB_DIR, exist_ok=True)
        write_file(RECORD_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")
    elif os.path.exists(RECORD_FILE):
        os.unlink(RECORD_FILE)


def subid_line():
    return f"root:{topology.IDMAP_BASE}:{topology.IDMAP_SIZE}"


def _covers(path):
    """True when path already grants root the lab's uid/gid range."""
    try:
        with open(path) as src:
            lines = src.read().splitlines()
    except FileNotFoundError:
        return False
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in ("root", "0") and parts[1].isdigit() and parts[2].isdigit():
            start, count = int(parts[1]), int(parts[2])
            if start <= topology.IDMAP_BASE and start + count >= topology.IDMAP_BASE + topology.IDMAP_SIZE:
                return True
    return False


def ensure_subids(record):
    """Add root:100000:65536 to /etc/subuid and /etc/subgid where missing; record the additions."""
    added = record.setdefault("subid_added", [])
    for path in SUBID_FILES:
        if _covers(path):
            say(STEP, f"ok ({path} already maps {subid_line()})")
            continue
        try:
            with open(path) as src:
                text = src.read()
        except FileNotFoundError:
            text = ""
        if text and not text.endswith("\n"):
            text += "\n"
        with open(path, "w") as out:
            out.write(text + subid_line() + "\n")
        if path not in added:
            added.append(path)
        save(record)
        say(STEP, f"added {subid_line()} to {path} (removed again at down)")


def restore_subids(record):
    """Remove the subid lines the lab added (one occurrence each)."""
    added = record.get("subid_added", [])
    for path in list(added):
        try:
            with open(path) as src:
                lines = src.read().splitlines()
        except FileNotFoundError:
            lines = []
        if subid_line() in lines:
            lines.remove(subid_line())
            with open(path, "w") as out:
                out.write("".join(line + "\n" for line in lines))
            say(STEP, f"removed {subid_line()} from {path}")
        added.remove(path)
        save(record)
    if not added:
        say(STEP, "ok (no lab line left in /etc/subuid, /etc/subgid)")


def _sysctl_path(name):
    return "/proc/sys/" + name.replace(".", "/")


def read_sysctl(name):
    try:
        with open(_sysctl_path(name)) as src:
            return src.read().strip()
    except (FileNotFoundError, PermissionError):
        return None


def snapshot_sysctls(record):
    """Record the watched sysctls once (the first `up` after a `down`)."""
    if record.get("sysctls"):
        say(STEP, "ok (host sysctls already recorded)")
        return
    record["sysctls"] = {name: read_sysctl(name) for name in WATCHED_SYSCTLS if read_sysctl(name) is not None}
    save(record)
    say(STEP, "recorded {} host sysctls (restored at down)".format(len(record["sysctls"])))


def changed_sysctls(record):
    """{name: (recorded, now)} for watched sysctls that differ from the snapshot."""
    recorded = record.get("sysctls", {})
    return {name: (value, read_sysctl(name)) for name, value in recorded.items() if read_sysctl(name) != value}


def restore_sysctls(record):
    """Put back every watched sysctl that a lab host changed."""
    changed = changed_sysctls(record)
    for name, (value, now) in changed.items():
        with open(_sysctl_path(name), "w") as out:
            out.write(value + "\n")
        say(STEP, f"restored {name} = {value} (was {now})")
    if not changed:
        say(STEP, "ok (watched host sysctls unchanged)")
    record.pop("sysctls", None)
    save(record)
