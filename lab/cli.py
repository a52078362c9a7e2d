"""The lab's command line: python -m lab up | down | status [--json] | verify-clean | check [--btrfs]

Run from the repository root, as root. Every step prints one line: what it did, or "ok (already ...)".
"""

import argparse
import fcntl
import json
import os
import shutil
import sys
import time

from . import (
    aptproxy,
    checks,
    containers,
    credentials,
    disks,
    hostconfig,
    images,
    network,
    pve,
    registry,
    rootfs,
    sshkeys,
    state,
    topology,
)
from .shell import LabError, find_processes, process_cmdline, require_root, run, say, tcp_open, write_file, zombies

REQUIRED_COMMANDS = ["mmdebstrap", "tar", "zstd", "ip", "losetup", "btrfs", "lxc-start", "lxc-stop", "lxc-destroy",
                     "lxc-info", "lxc-wait", "lxc-ls", "ssh", "ssh-keygen", "ssh-keyscan", aptproxy.BINARY,
                     registry.BINARY]


def preflight():
    """Root, and the Debian tools the lab drives (lxc, uidmap, mmdebstrap, btrfs-progs, apt-cacher-ng, ...)."""
    require_root("preflight")
    missing = [cmd for cmd in REQUIRED_COMMANDS if not shutil.which(cmd)]
    if missing:
        raise LabError("preflight", "missing commands: {} (apt-get install lxc uidmap mmdebstrap btrfs-progs "
                                    "apt-cacher-ng zstd openssh-client docker-registry)".format(", ".join(missing)))


# ----------------------------------------------------------------------------- up

def up(docker_guests=1):
    """Build or repair the whole lab, with this many Docker guests; a second run changes nothing."""
    started = time.monotonic()
    preflight()
    for path in (topology.LAB_DIR, topology.LOG_DIR):
        os.makedirs(path, exist_ok=True)
    # LAB_DIR is runtime state: keep it out of git whatever the repo's .gitignore says.
    write_file(os.path.join(topology.LAB_DIR, ".gitignore"), "# runtime state of `python -m lab`\n*\n")
    st = state.load()
    secrets = credentials.ensure()
    pubkey = sshkeys.ensure_key()
    tarball = rootfs.ensure_tarball()
    st["rootfs"] = tarball

    network.ensure_bridge()
    st["bridge"] = {"name": topology.BRIDGE, "address": network.bridge_address()}
    st["apt_proxy"] = {"url": topology.APT_PROXY, "pid": aptproxy.ensure(), "cache": aptproxy.CACHE}
    state.save(st)

    st["disks"] = disks.ensure()
    state.save(st)
    record = hostconfig.load()
    hostconfig.ensure_subids(record)
    hostconfig.snapshot_sysctls(record)

    wanted = topology.containers(docker_guests)
    for extra in topology.EXTRA_DOCKER_GUESTS:
        if extra not in wanted and containers.destroy(extra["name"]):
            sshkeys.forget_host(extra["ip"])
            shutil.rmtree(topology.storage_dir(extra["name"]), ignore_errors=True)
            st.get("containers", {}).pop(extra["name"], None)
            say(extra["name"], f"destroyed (the lab has {docker_guests} Docker guest(s) now)")
    st["docker_guests"] = docker_guests
    for root in dict.fromkeys(topology.storage_dir(ct["name"]) for ct in wanted[1:]):
        made = containers.ensure_guest_storage(root)
        say("storage", f"{root}: made {len(made)} folders" if made else f"ok ({root}: the guests' appdata and data)")
    loops = {serial: info["loop"] for serial, info in st["disks"].items()}
    st.setdefault("containers", {})
    for ct in wanted:
        name = ct["name"]
        t0 = time.monotonic()
        result = containers.ensure(name, tarball, pubkey, loops)
        spec = containers.SPECS[name]
        st["containers"][name] = {"ip": ct["ip"], "hostname": spec["hostname"],
                                  "privileged": spec["privileged"], "init_pid": containers.init_pid(name)}
        state.save(st)
        kind = "privileged" if spec["privileged"] else "unprivileged"
        if result == "ok":
            say(name, "ok (already running: {} {}, {})".format(ct["ip"], spec["hostname"], kind))
        else:
            say(name, "{} ({} {}, {}) in {:.1f} s".format(result, ct["ip"], spec["hostname"], kind,
                                                              time.monotonic() - t0))

    for ct in wanted:
        changed = sshkeys.refresh_known_host(ct["ip"])
        sshkeys.check_login("ssh", ct["ip"])
        if changed:
            say("ssh", "{} root@{}: known_hosts refreshed, key login ok".format(ct["name"], ct["ip"]))
        else:
            say("ssh", "ok ({} root@{}: known_hosts current, key login works)".format(ct["name"], ct["ip"]))

    st["pve"] = {"url": pve.url(), "ca_file": pve.CERT_FILE, "pid": pve.ensure(secrets),
                 "node": topology.PVE_HOST["node"], "user": topology.PVE_API["user"],
                 "token_id": secrets["pve_token_id"]}
    st["ssh"] = {"key": topology.SSH_KEY, "known_hosts": topology.KNOWN_HOSTS, "user": "root"}
    st["secrets_file"] = topology.SECRETS_FILE
    state.save(st)

    # Last, so that a slow or failed image build holds nothing else up. The registry binds the bridge address;
    # mmdebstrap goes through the apt proxy.
    st["registry"] = {"url": topology.REGISTRY_URL, "pid": registry.ensure(), "storage": topology.REGISTRY_STORAGE}
    state.save(st)
    st["registry"]["images"] = registry.ensure_images()
    state.save(st)
    say("up", f"lab is up ({time.monotonic() - started:.1f} s); `python -m lab status` shows what runs where")
    return 0


# ----------------------------------------------------------------------------- down

def down():
    """Tear everything down (safe when the lab is partly up or absent); keeps caches, key and secrets."""
    started = time.monotonic()
    require_root("down")
    for ct in reversed(topology.ALL_CONTAINERS):
        name = ct["name"]
        if containers.destroy(name):
            say(name, "stopped and destroyed")
        elif ct in topology.CONTAINERS:
            say(name, "ok (no container)")
        sshkeys.forget_host(ct["ip"])
    pve.stop()
    registry.stop()
    aptproxy.stop()
    disks.detach_all()
    network.remove_bridge()
    record = hostconfig.load()
    hostconfig.restore_subids(record)
    hostconfig.restore_sysctls(record)
    storage = dict.fromkeys(topology.storage_dir(ct["name"]) for ct in topology.ALL_CONTAINERS[1:])
    for path in (topology.PVE_DIR, *storage):
        if os.path.isdir(path):
            shutil.rmtree(path)
    state.remove()
    say("down", f"lab is down ({time.monotonic() - started:.1f} s); "
                f"kept {topology.CACHE_DIR}, the ssh key and secrets.yml")
    return 0


# ----------------------------------------------------------------------------- status

def collect_status():
    """What runs where, as a dict (also the --json output). "up" is True only if everything is."""
    st = state.load()
    secrets = credentials.load()
    info = {"lab_dir": topology.LAB_DIR, "containers": {}, "disks": {}}
    bridge = network.bridge_ok()
    info["bridge"] = {"name": topology.BRIDGE, "address": network.bridge_address(), "up": bridge}
    # Without labbr0, 10.213.0.x goes out the default route, where this machine's upstream proxy accepts any
    # TCP connection: only trust a TCP probe of a lab address while the bridge is up.
    host, port = aptproxy.address()
    pids = aptproxy.running_pids()
    info["apt_proxy"] = {"url": topology.APT_PROXY, "pid": pids[0] if pids else None,
                         "up": bridge and bool(pids) and tcp_open(host, port)}
    for ct in topology.containers(state.docker_guest_count(st)):
        name = ct["name"]
        lxc_state = containers.state_of(name)
        sshd = bridge and lxc_state == "RUNNING" and tcp_open(ct["ip"], 22)
        info["containers"][name] = {
            "state": lxc_state or "ABSENT", "ip": ct["ip"], "hostname": containers.SPECS[name]["hostname"],
            "privileged": containers.SPECS[name]["privileged"], "ssh": sshd, "up": sshd,
            "init_pid": containers.init_pid(name) if lxc_state == "RUNNING" else None}
    pve_pids = pve.running_pids()
    answers = bool(pve_pids) and bool(secrets) and os.path.exists(pve.CERT_FILE) and pve.api_answers(secrets)
    info["pve"] = {"url": pve.url(), "ca_file": pve.CERT_FILE, "node": topology.PVE_HOST["node"],
                   "user": topology.PVE_API["user"], "token_id": topology.PVE_TOKEN_ID,
                   "pid": pve_pids[0] if pve_pids else None, "up": answers}
    reg_pids = registry.running_pids()
    reg_up = bridge and bool(reg_pids) and registry.answers()
    lab_images = {}
    for name, ref in topology.LAB_IMAGES.items():
        try:
            present = reg_up and bool(registry.manifest_digest(images.repository(name), images.tag(name)))
        except LabError:
            present = False
        lab_images[name] = {"ref": ref, "up": present}
    info["registry"] = {"url": topology.REGISTRY_URL, "pid": reg_pids[0] if reg_pids else None,
                        "storage": topology.REGISTRY_STORAGE, "up": reg_up, "images": lab_images}
    for disk in topology.DISKS:
        devices = disks.attached_to(disks.image_path(disk)) if os.path.exists(disks.image_path(disk)) else []
        info["disks"][disk["serial"]] = {"loop": devices[0] if devices else None, "by_id": disk["by_id"],
                                         "image": disks.image_path(disk), "up": bool(devices)}
    info["ssh"] = {"key": topology.SSH_KEY, "known_hosts": topology.KNOWN_HOSTS}
    info["secrets_file"] = topology.SECRETS_FILE
    info["state_file"] = topology.STATE_FILE if st else None
    parts = ([info["bridge"], info["apt_proxy"], info["pve"], info["registry"]] + list(info["containers"].values())
             + list(info["disks"].values()) + list(lab_images.values()))
    info["up"] = all(part["up"] for part in parts)
    return info


def status(as_json=False):
    info = collect_status()
    if as_json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0 if info["up"] else 1

    def mark(ok):
        return "up  " if ok else "DOWN"
    print("lab: {}".format("UP" if info["up"] else "NOT (fully) UP"))
    print("  {} bridge     {} {}".format(mark(info["bridge"]["up"]), topology.BRIDGE, info["bridge"]["address"]))
    for name, ct in info["containers"].items():
        print("  {} container  {:<11} {:<8} {:<12} hostname {:<6} {}{}".format(
            mark(ct["up"]), name, ct["state"], ct["ip"], ct["hostname"],
            "privileged" if ct["privileged"] else "unprivileged", "" if ct["ssh"] else ", ssh not answering"))
    print("  {} fakepve    {} (node {}, user {}, token {}, CA {}){}".format(
        mark(info["pve"]["up"]), info["pve"]["url"], info["pve"]["node"], info["pve"]["user"],
        info["pve"]["token_id"], info["pve"]["ca_file"],
        " pid {}".format(info["pve"]["pid"]) if info["pve"]["pid"] else ""))
    print("  {} apt proxy  {} (apt-cacher-ng{})".format(
        mark(info["apt_proxy"]["up"]), info["apt_proxy"]["url"],
        " pid {}".format(info["apt_proxy"]["pid"]) if info["apt_proxy"]["pid"] else ""))
    print("  {} registry   {} (docker-registry{}, storage {})".format(
        mark(info["registry"]["up"]), info["registry"]["url"],
        " pid {}".format(info["registry"]["pid"]) if info["registry"]["pid"] else "", info["registry"]["storage"]))
    for image in info["registry"]["images"].values():
        print("  {} image      {}{}".format(mark(image["up"]), image["ref"],
                                             "" if image["up"] else " (not in the registry)"))
    for disk in info["disks"].values():
        print("  {} disk       {:<11} {} (in {})".format(
            mark(disk["up"]), disk["loop"] or "-", disk["by_id"], topology.PVE_HOST["name"]))
    key, known = os.path.relpath(topology.SSH_KEY), os.path.relpath(topology.KNOWN_HOSTS)
    print(f"  ssh: ssh -i {key} -o UserKnownHostsFile={known} root@<ip>")
    return 0 if info["up"] else 1


# ----------------------------------------------------------------------------- verify-clean

def _lab_process(argv):
    """Processes the lab starts: fakepve, apt-cacher-ng, docker-registry, LXC monitors/inits of the lab containers,
    dnsmasq."""
    joined = " ".join(argv)
    return (pve.is_ours(argv) or aptproxy.is_ours(argv) or registry.is_ours(argv)
            or any(ct["name"] in joined and "lxc" in joined for ct in topology.ALL_CONTAINERS)
            or ("dnsmasq" in joined and topology.BRIDGE in joined))


def verify_clean():
    """Exit 0 with "lab: nothing left" when the machine shows nothing of the lab; else list the leftovers."""
    leftovers = []
    netns = run("verify-clean", ["ip", "netns", "list"], check=False).stdout.split("\n")
    leftovers += [f"netns {line.split()[0]}" for line in netns if line.strip() and "lab" in line]
    leftovers += [f"loop device {item}" for item in disks.leftovers()]
    leftovers += containers.leftovers()
    markers = [topology.LAB_DIR, topology.CACHE_DIR] + [containers.container_dir(ct["name"])
                                                       for ct in topology.ALL_CONTAINERS]
    with open("/proc/mounts") as mounts:
        leftovers += [f"mount: {line.strip()}" for line in mounts if any(m in line for m in markers)]
    for pid in find_processes(_lab_process):
        leftovers.append("process {}: {}".format(pid, " ".join(process_cmdline(pid) or ["?"])))
    if network.bridge_exists():
        leftovers.append(f"link {topology.BRIDGE}")
    for veth in [spec["veth"] for spec in containers.SPECS.values()]:
        if os.path.exists(f"/sys/class/net/{veth}"):
            leftovers.append(f"link {veth}")
    record = hostconfig.load()
    if record.get("subid_added"):
        leftovers.append("{} still carry the lab's line {}".format(
            " and ".join(record["subid_added"]), hostconfig.subid_line()))
    for name, (value, now) in hostconfig.changed_sysctls(record).items():
        leftovers.append(f"sysctl {name} = {now} (was {value})")
    if leftovers:
        print("lab: leftovers found:")
        for item in leftovers:
            print("  " + item)
        return 1
    dead = zombies(lambda comm: comm.startswith(("apt-cacher", "docker-registr", "lxc", "python")))
    if dead:
        print("note: {} zombie process(es) ({}) are entries only: PID 1 here does not reap orphans "
              "(see lab/README.md)".format(len(dead), ", ".join(map(str, dead))))
    print("lab: nothing left")
    return 0


# ----------------------------------------------------------------------------- entry point

def lock():
    """One lab command at a time (up, down and check change things): an flock on LAB_DIR/lock."""
    os.makedirs(topology.LAB_DIR, exist_ok=True)
    handle = open(os.path.join(topology.LAB_DIR, "lock"), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LabError("lock", f"another `python -m lab` command is running (lock {handle.name})") from None
    return handle


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab", description="The homelab engine's local test lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="build or repair the lab (idempotent)")
    p_up.add_argument("--docker-guests", type=int, choices=range(1, topology.MAX_DOCKER_GUESTS + 1), default=1,
                      help="how many Docker guests (more than one: make bench's hosts3_ratio); default 1")
    sub.add_parser("down", help="tear the lab down, leaving nothing behind (keeps caches, key, secrets)")
    p_status = sub.add_parser("status", help="what runs where; exit 0 only if everything is up")
    p_status.add_argument("--json", action="store_true", help="print the status as JSON")
    sub.add_parser("verify-clean", help="exit non-zero and list leftovers if anything of the lab remains")
    p_check = sub.add_parser("check", help="prove over SSH that apt, keyctl, tun and the disks work")
    p_check.add_argument("--btrfs", action="store_true",
                         help="also mkfs/mount/wipe a throwaway raid1 btrfs on the (blank) lab disks")
    args = parser.parse_args(argv)
    try:
        if args.command in ("up", "down", "check"):
            require_root(args.command)
            held = lock()  # noqa: F841 (held until exit)
        if args.command == "up":
            return up(args.docker_guests)
        if args.command == "down":
            return down()
        if args.command == "status":
            return status(args.json)
        if args.command == "verify-clean":
            return verify_clean()
        if args.command == "check":
            return checks.main(btrfs=args.btrfs)
    except LabError as exc:
        print(f"lab: FAILED at {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"lab: FAILED ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
    return 2
