"""The two LXC containers (default lxcpath /var/lib/lxc, so `lxc-ls` shows them), made from the rootfs tarball.

- lab-pve (PVE_HOST): the Proxmox VE host stand-in. PRIVILEGED, systemd as PID 1, hostname pve1, its address on
  a bridge vmbr0 with eth0 enslaved (ifupdown + bridge-utils, /etc/network/interfaces as on a PVE host),
  writable /proc/sys and /sys, the lab's loop devices and /dev/btrfs-control bound in, and the by-id links
  /dev/disk/by-id/ata-LAB_HDD_2G_<serial> -> ../../loopN recreated at every start (lxc.hook.autodev).
- lab-docker (DOCKER_GUEST) and lab-nas (NAS_GUEST): guests as PVE makes them. UNPRIVILEGED (idmap
  0 -> 100000, 65536 ids; the rootfs is shifted by +100000), nesting (nesting.conf), keyctl allowed
  (LXC's default seccomp profile does not block it), static address on eth0 as PVE writes it.
  lab-docker also gets /dev/net/tun (PVE: dev0) and /appdata + /data, lab-nas /data: bind mounts of
  GUEST_STORAGE_DIR, as PVE's mp0/mp1 bind the pool.

All: sshd with key-only root login (the lab key), apt through the lab's apt proxy, own SSH host keys and
machine-id, no DNS. A container is recreated when its recipe (tarball, key, addresses, customization) changes,
and restarted when only its LXC config changes (e.g. different loop device numbers).
"""

import hashlib
import json
import os
import shutil
import stat
import uuid

from mediabox import layout
from mediabox.catalog import SERVICES

from . import aptproxy, rootfs, topology
from .shell import LabError, run, say, wait_until, write_file

STEP = "containers"

# Bump when customize() or config_text() change in a way that needs a fresh rootfs.
CUSTOMIZE_VERSION = 2

DOMAIN = "home.arpa"

SPECS = {
    topology.PVE_HOST["name"]: dict(hostname=topology.PVE_HOST["node"], ip=topology.PVE_HOST["ip"],
                                    privileged=True, hwaddr="02:00:0a:d5:00:02", veth="vethlabpve"),
    topology.DOCKER_GUEST["name"]: dict(hostname=topology.DOCKER_GUEST["hostname"], ip=topology.DOCKER_GUEST["ip"],
                                        privileged=False, hwaddr="02:00:0a:d5:00:0a", veth="vethlabdocker",
                                        tun=True, mounts=("appdata", "data")),
    topology.NAS_GUEST["name"]: dict(hostname=topology.NAS_GUEST["hostname"], ip=topology.NAS_GUEST["ip"],
                                     privileged=False, hwaddr="02:00:0a:d5:00:0b", veth="vethlabnas",
                                     tun=False, mounts=("data",)),
} | {
    extra["name"]: dict(hostname=extra["hostname"], ip=extra["ip"], privileged=False,
                        hwaddr="02:00:0a:d5:00:{:02x}".format(int(extra["ip"].rsplit(".", 1)[1])),
                        veth="vethlab" + extra["name"].removeprefix("lab-"), tun=True, mounts=("appdata", "data"))
    for extra in topology.EXTRA_DOCKER_GUESTS
}


def container_dir(name):
    return os.path.join(topology.LXC_PATH, name)


def rootfs_dir(name):
    return os.path.join(container_dir(name), "rootfs")


def marker_path(name):
    """A file next to the LXC config saying the container is the lab's, and from which recipe."""
    return os.path.join(container_dir(name), "lab.json")


def hook_path(name):
    return os.path.join(container_dir(name), "lab-autodev.sh")


def tun_path(name):
    """The TUN device node bound into the unprivileged guest (owned by its root, mode 0666)."""
    return os.path.join(container_dir(name), "dev-net-tun")


def identity(name, tarball, pubkey):
    """What the container's rootfs was made from; a difference means: recreate."""
    spec = SPECS[name]
    return {"name": name, "tarball": os.path.basename(tarball), "customize": CUSTOMIZE_VERSION,
            "hostname": spec["hostname"], "ip": spec["ip"], "privileged": spec["privileged"],
            "apt_proxy": topology.APT_PROXY, "key": hashlib.sha256(pubkey.encode()).hexdigest()[:16]}


def read_marker(name):
    try:
        with open(marker_path(name)) as src:
            return json.load(src)
    except FileNotFoundError:
        return None
    except ValueError:
        return {"broken": True}


# ----------------------------------------------------------------------------- what goes into the rootfs

def interfaces_text(name):
    """/etc/network/interfaces: a vmbr0 bridge over eth0 on the PVE host stand-in, plain eth0 on the guest."""
    spec = SPECS[name]
    address = "{}/{}".format(spec["ip"], topology.PREFIX)
    head = "auto lo\niface lo inet loopback\n\n"
    if spec["privileged"]:
        return head + ("iface eth0 inet manual\n\n"
                       "auto vmbr0\niface vmbr0 inet static\n"
                       f"\taddress {address}\n\tgateway {topology.GATEWAY}\n"
                       "\tbridge-ports eth0\n\tbridge-stp off\n\tbridge-fd 0\n")
    return head + f"auto eth0\niface eth0 inet static\n\taddress {address}\n\tgateway {topology.GATEWAY}\n"


def customize(name, root, pubkey):
    """Write the per-container files into a freshly extracted rootfs (before any ownership shift)."""
    spec = SPECS[name]
    host = spec["hostname"]
    rootfs.put(root, "/etc/hostname", host + "\n")
    rootfs.put(root, "/etc/hosts", f"127.0.0.1\tlocalhost\n{spec['ip']}\t{host}.{DOMAIN} {host}\n\n"
                                   "::1\tlocalhost ip6-localhost ip6-loopback\n")
    rootfs.put(root, "/etc/network/interfaces", interfaces_text(name))
    rootfs.put(root, "/etc/resolv.conf", f"# The lab has no DNS; apt goes through {topology.APT_PROXY}.\n")
    rootfs.put(root, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    rootfs.put(root, "/etc/apt/apt.conf.d/00lab-proxy", aptproxy.apt_conf())
    rootfs.put(root, "/etc/ssh/sshd_config.d/lab.conf",
               "# Key-only root login (the lab key).\nPermitRootLogin prohibit-password\n"
               "PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
    rootfs.put(root, "/root/.ssh/authorized_keys", pubkey + "\n", 0o600)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)
    # Own host keys for this container (the tarball has none).
    run(STEP, ["ssh-keygen", "-A", "-f", root])
    if spec["privileged"]:
        # systemd-sysctl would apply systemd's defaults to the lab machine's global sysctls at every boot
        # (/proc/sys is writable here); sysctls the stages set are restored at `down` (hostconfig.py).
        rootfs.symlink(root, "/etc/systemd/system/systemd-sysctl.service", "/dev/null")


# ----------------------------------------------------------------------------- LXC config

def config_text(name, loops):
    """The LXC config of a lab container. loops: {serial: "/dev/loopN"} (lab-pve only)."""
    spec = SPECS[name]
    lines = [f"# {name}: written by `python -m lab up` (lab/containers.py); rewritten on every run.",
             "lxc.include = /usr/share/lxc/config/common.conf"]
    if not spec["privileged"]:
        lines += ["lxc.include = /usr/share/lxc/config/userns.conf",
                  "# PVE features: nesting=1; keyctl=1 (LXC's common.seccomp does not block keyctl).",
                  "lxc.include = /usr/share/lxc/config/nesting.conf"]
    lines += [
        "lxc.arch = linux64",
        "lxc.uts.name = " + spec["hostname"],
        "lxc.rootfs.path = dir:" + rootfs_dir(name),
        "lxc.autodev = 1",
        "# systemd halts on SIGRTMIN+3.",
        "lxc.signal.halt = SIGRTMIN+3",
        "lxc.console.logfile = " + os.path.join(topology.LOG_DIR, name + ".console.log"),
        "lxc.net.0.type = veth",
        "lxc.net.0.link = " + topology.BRIDGE,
        "lxc.net.0.name = eth0",
        "lxc.net.0.flags = up",
        "lxc.net.0.hwaddr = " + spec["hwaddr"],
        "lxc.net.0.veth.pair = " + spec["veth"],
    ]
    if spec["privileged"]:
        lines += ["# A host: writable /proc/sys and /sys.",
                  "lxc.mount.auto =",
                  "lxc.mount.auto = proc:rw sys:rw cgroup:mixed",
                  "# The lab disks (loop devices, block major 7) and /dev/btrfs-control (c 10:234)."]
        for version in ("cgroup", "cgroup2"):
            lines += [f"lxc.{version}.devices.allow = b 7:* rwm",
                      f"lxc.{version}.devices.allow = c 10:234 rwm"]
        for serial in sorted(loops):
            dev = loops[serial]
            lines.append("lxc.mount.entry = {} {} none bind,create=file 0 0".format(dev, dev.lstrip("/")))
        lines += ["lxc.mount.entry = /dev/btrfs-control dev/btrfs-control none bind,create=file 0 0",
                  "lxc.hook.autodev = " + hook_path(name)]
    else:
        lines += [f"lxc.idmap = u 0 {topology.IDMAP_BASE} {topology.IDMAP_SIZE}",
                  f"lxc.idmap = g 0 {topology.IDMAP_BASE} {topology.IDMAP_SIZE}"]
        lines += ["# Like PVE's unprivileged CTs (systemd then skips sys-kernel-debug.mount instead of failing).",
                  "lxc.cap.drop = sys_rawio"]
        for subvolume in spec["mounts"]:
            lines.append(f"lxc.mount.entry = {topology.storage_dir(name)}/{subvolume} {subvolume} none "
                         "bind,create=dir 0 0")
        if spec["tun"] and os.path.exists("/dev/net/tun"):
            lines += ["# /dev/net/tun for gluetun (PVE: dev0: /dev/net/tun). The host's node is 0600 root, which",
                      "# CT root cannot open; bind a node owned by CT root instead (what PVE's devN makes).",
                      "lxc.cgroup.devices.allow = c 10:200 rwm",
                      "lxc.cgroup2.devices.allow = c 10:200 rwm",
                      f"lxc.mount.entry = {tun_path(name)} dev/net/tun none bind,create=file 0 0"]
    return "\n".join(lines) + "\n"


def autodev_hook_text(loops):
    """The lab-pve autodev hook: by-id links to the loop devices, as udev would make for real disks."""
    lines = ["#!/bin/sh", "# lxc.hook.autodev of lab-pve (lab/containers.py): by-id names of the lab disks.",
             "set -e", 'mkdir -p "$LXC_ROOTFS_MOUNT/dev/disk/by-id"']
    for disk in topology.DISKS:
        loop = loops[disk["serial"]]
        lines.append('ln -sfn ../../{} "$LXC_ROOTFS_MOUNT{}"'.format(os.path.basename(loop), disk["by_id"]))
    return "\n".join(lines) + "\n"


def _ancestors(path: str) -> list[str]:
    """The folders above path, from / down."""
    parts = os.path.abspath(path).split(os.sep)[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(len(parts) + 1)]


def ensure_guest_storage(root=topology.GUEST_STORAGE_DIR):
    """The appdata and data trees guests bind (root: topology.storage_dir), with a folder per service of the
    catalog, owned as the host stage owns the pool's (uid and gid 1000 inside the guests, mode 2775); returns the
    paths made."""
    uid = gid = topology.IDMAP_BASE + 1000
    closed = [path for path in _ancestors(root) if not os.stat(path).st_mode & stat.S_IXOTH]
    if closed:  # the unprivileged guests' root (uid 100000) must pass through them to bind the trees
        mode = stat.S_IMODE(os.stat(closed[0]).st_mode)
        raise LabError("storage", f"{closed[0]} is closed to other users (mode {mode:o}), so the unprivileged guests "
                       f"cannot bind {root}: `chmod o+x {closed[0]}`, or put the repository where others may pass "
                       "(mktemp -d makes a 0700 folder)")
    made = []
    for path in [root, *layout.appdata_dirs(root, list(SERVICES)), *layout.data_dirs(root, list(SERVICES))]:
        if not os.path.isdir(path):
            os.makedirs(path)
            made.append(path)
        if path != root:
            os.chown(path, uid, gid)
            os.chmod(path, 0o2775)
    return made


# ----------------------------------------------------------------------------- lifecycle

def state_of(name):
    """"RUNNING", "STOPPED", ... or None when the container does not exist."""
    if not os.path.exists(os.path.join(container_dir(name), "config")):
        return None
    result = run(STEP, ["lxc-info", "-n", name, "-sH"], check=False, timeout=30)
    return result.stdout.strip() if result.returncode == 0 else None


def init_pid(name):
    """Host PID of the container's init (systemd), or None when it does not run."""
    result = run(STEP, ["lxc-info", "-n", name, "-pH"], check=False, timeout=30)
    return int(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip().isdigit() else None


def lxc_log(name):
    return os.path.join(topology.LOG_DIR, name + ".lxc.log")


def start(name):
    """lxc-start in the background and wait (bounded) for RUNNING."""
    result = run(name, ["lxc-start", "-n", name, "-d", "-o", lxc_log(name), "-l", "INFO"], check=False,
                 timeout=60)
    if result.returncode != 0:
        raise LabError(name, "lxc-start failed: {}\n--- {} (tail):\n{}".format(
            (result.stderr or "").strip(), lxc_log(name), _log_tail(lxc_log(name))))
    run(name, ["lxc-wait", "-n", name, "-s", "RUNNING", "-t", "20"], timeout=30)


def _log_tail(path, lines=20):
    try:
        with open(path, errors="replace") as src:
            return "\n".join(src.read().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(name):
    """Stop at once (SIGKILL to the container's init): lab containers hold nothing worth a clean shutdown."""
    if state_of(name) not in (None, "STOPPED"):
        run(name, ["lxc-stop", "-n", name, "-k"], timeout=40)


def create(name, tarball, pubkey, loops):
    """Make the container from the tarball: directory + marker, rootfs, per-container files, ownership, config."""
    spec = SPECS[name]
    os.makedirs(container_dir(name), mode=0o755)
    os.chmod(container_dir(name), 0o755)
    write_file(marker_path(name), json.dumps({"name": name, "creating": True}) + "\n")
    root = rootfs_dir(name)
    rootfs.extract(tarball, root)
    customize(name, root, pubkey)
    if not spec["privileged"]:
        rootfs.shift_ownership(root, topology.IDMAP_BASE)
        if spec["tun"] and os.path.exists("/dev/net/tun"):
            os.mknod(tun_path(name), 0o666 | stat.S_IFCHR, os.makedev(10, 200))
            os.chmod(tun_path(name), 0o666)
            os.chown(tun_path(name), topology.IDMAP_BASE, topology.IDMAP_BASE)
    write_config(name, loops)
    write_file(marker_path(name), json.dumps(identity(name, tarball, pubkey), indent=2, sort_keys=True) + "\n")


def write_config(name, loops):
    """Write the LXC config (and lab-pve's autodev hook). Returns True if anything changed."""
    changed = write_file(os.path.join(container_dir(name), "config"), config_text(name, loops))
    if SPECS[name]["privileged"]:
        changed = write_file(hook_path(name), autodev_hook_text(loops), 0o755) or changed
    return changed


def ensure(name, tarball, pubkey, loops):
    """Bring one container to the wanted state; returns "created", "restarted", "started" or "ok"."""
    marker = read_marker(name)
    wanted = identity(name, tarball, pubkey)
    if os.path.exists(container_dir(name)) and marker is None:
        raise LabError(name, f"{container_dir(name)} exists but is not the lab's (no lab.json); remove it yourself")
    if marker is not None and marker != wanted:
        say(name, "recipe changed (or a previous create was interrupted): recreating")
        destroy(name)
        marker = None
    if marker is None:
        create(name, tarball, pubkey, loops)
        start(name)
        return "created"
    changed = write_config(name, loops)
    current = state_of(name)
    if changed and current == "RUNNING":
        stop(name)
        start(name)
        return "restarted"
    if current != "RUNNING":
        if current not in ("STOPPED", None):
            stop(name)
        start(name)
        return "started"
    if reattach_veth(name):
        return "re-attached to " + topology.BRIDGE
    return "ok"


def reattach_veth(name):
    """Put a running container's host-side veth back on labbr0 (after the bridge was deleted and recreated)."""
    veth = SPECS[name]["veth"]
    master = f"/sys/class/net/{veth}/master"
    if not os.path.exists("/sys/class/net/" + veth):
        return False
    if os.path.islink(master) and os.path.basename(os.readlink(master)) == topology.BRIDGE:
        return False
    run(name, ["ip", "link", "set", veth, "master", topology.BRIDGE])
    run(name, ["ip", "link", "set", veth, "up"])
    return True


def destroy(name):
    """Stop and remove a lab container (only one carrying the lab's marker)."""
    path = container_dir(name)
    if not os.path.exists(path):
        return False
    if read_marker(name) is None:
        raise LabError(name, f"{path} exists but is not the lab's (no lab.json); not touching it")
    stop(name)
    if os.path.exists(os.path.join(path, "config")):
        run(name, ["lxc-destroy", "-n", name], timeout=120)
    if os.path.exists(path):
        # An interrupted create leaves no config, or lxc-destroy left files: remove the rest,
        # but never while anything is mounted below it.
        with open("/proc/mounts") as mounts:
            busy = [line.split()[1] for line in mounts if line.split()[1].startswith(path + "/")]
        if busy:
            raise LabError(name, "cannot remove {}: still mounted: {}".format(path, ", ".join(busy)))
        shutil.rmtree(path)
    wait_until(name, f"{path} to disappear", lambda: not os.path.exists(path), timeout=5)
    return True


def leftovers():
    """Lab containers lxc-ls (or the lxcpath) still shows, for verify-clean."""
    found = []
    out = run(STEP, ["lxc-ls", "-1"], check=False).stdout.split()
    for name in SPECS:
        if name in out:
            found.append(f"lxc-ls shows {name}")
        elif os.path.exists(container_dir(name)):
            found.append(f"{container_dir(name)} still exists")
    return found
