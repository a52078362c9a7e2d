"""`python -m lab check`: prove, over SSH, that the lab hosts can do what later stages need.

Non-destructive by default (apt installs and purges `hello`); `--btrfs` also builds a throwaway raid1 btrfs
on the two lab disks inside lab-pve and wipes it again. It refuses to touch disks that are not blank.
"""

from . import topology
from .shell import LabError, say
from .sshkeys import ssh

STEP = "check"

APT_PROOF = ("set -e; apt-get update -q >/dev/null; "
             "DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello >/dev/null; hello; "
             "apt-get purge -y -q hello >/dev/null; echo apt-ok")

# No DNS and no route out: the proxy is the only way to the mirror.
NO_INTERNET = ("python3 - <<'PY'\nimport socket\ntry:\n"
               "    socket.create_connection(('deb.debian.org', 80), timeout=3)\n"
               "    print('internet: REACHABLE')\nexcept OSError as exc:\n"
               "    print('internet: none (%s)' % exc)\nPY")

# keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create): what runc does; PVE's keyctl=1 allows it.
KEYCTL = ("python3 -c \"import ctypes; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(250, 0, -3, 1); "
          "print('keyctl ok' if r > 0 else 'keyctl BLOCKED errno %d' % ctypes.get_errno())\"")

TUN = "ip tuntap add mode tun dev labtun0 && ip link del labtun0 && echo tun-ok"


def btrfs_proof():
    """Shell script for lab-pve: raid1 btrfs on both by-id disks, mount, unmount, wipe; btrfs-progs left as found."""
    a, b = topology.DISKS[0]["by_id"], topology.DISKS[1]["by_id"]
    return f"""set -e
A={a}; B={b}
command -v blkid >/dev/null || {{ echo "blkid missing: cannot tell whether the disks are blank"; exit 2; }}
for d in $A $B; do
  test -b "$d" || {{ echo "missing block device $d"; exit 2; }}
  if blkid -p "$d" >/dev/null 2>&1; then echo "not blank, refusing: $d"; exit 3; fi
done
had=0; dpkg-query -W -f='${{Status}}' btrfs-progs 2>/dev/null | grep -q 'ok installed' && had=1
cleanup() {{
  umount /mnt 2>/dev/null || true
  wipefs -a -q $A $B || true
  btrfs device scan --forget $A $B 2>/dev/null || true
}}
trap cleanup EXIT
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q btrfs-progs >/dev/null
mkfs.btrfs -q -f -m raid1 -d raid1 -L labtest $A $B
btrfs device scan >/dev/null
mount $A /mnt
echo "devices in pool: $(btrfs filesystem show /mnt | grep -c devid)"
umount /mnt
wipefs -a -q $A $B
test "$had" = 1 || DEBIAN_FRONTEND=noninteractive apt-get purge -y -q btrfs-progs >/dev/null
echo btrfs-ok
"""


def run_check(step, ip, script, expect, timeout=300):
    """Run script on ip; its output must contain expect."""
    result = ssh(step, ip, script, check=False, timeout=timeout)
    out = (result.stdout or "").strip()
    if result.returncode != 0 or expect not in out:
        raise LabError(step, "failed on {} (exit {}):\n{}\n{}".format(
            ip, result.returncode, out[-1500:], (result.stderr or "").strip()[-1500:]))
    return out


def main(btrfs=False):
    pve_ip, guest_ip = topology.PVE_HOST["ip"], topology.DOCKER_GUEST["ip"]
    for name, ip in ((topology.PVE_HOST["name"], pve_ip), (topology.DOCKER_GUEST["name"], guest_ip)):
        out = run_check(STEP, ip, "systemctl is-system-running || true", "")
        say(name, "systemd: {}".format(out.splitlines()[-1] if out else "?"))
        say(name, run_check(STEP, ip, NO_INTERNET, "internet:"))
        run_check(STEP, ip, APT_PROOF, "apt-ok")
        say(name, f"apt-get update + install hello through {topology.APT_PROXY}: ok")
    links = " && ".join("readlink -f {}".format(d["by_id"]) for d in topology.DISKS)
    say(topology.PVE_HOST["name"], "by-id disks -> " + run_check(STEP, pve_ip, links, "/dev/loop").replace("\n", ", "))
    run_check(STEP, pve_ip, "test -c /dev/btrfs-control && echo ok", "ok")
    value = run_check(STEP, pve_ip, "sysctl -n vm.max_map_count", "")
    run_check(STEP, pve_ip, f"sysctl -w vm.max_map_count={value} >/dev/null && echo ok", "ok")
    say(topology.PVE_HOST["name"], f"/dev/btrfs-control present; /proc/sys writable (vm.max_map_count={value})")
    say(topology.DOCKER_GUEST["name"], run_check(STEP, guest_ip, KEYCTL, "keyctl ok"))
    say(topology.DOCKER_GUEST["name"], "/dev/net/tun: " + run_check(STEP, guest_ip, TUN, "tun-ok"))
    if btrfs:
        out = run_check(STEP, pve_ip, btrfs_proof(), "btrfs-ok", timeout=600)
        pool = [line for line in out.splitlines() if line.startswith("devices in pool")]
        say(topology.PVE_HOST["name"], "btrfs raid1 on both by-id disks: mkfs, mount, umount, wipefs ok ({})".format(
            pool[0] if pool else "?"))
    say(STEP, "all checks passed")
    return 0
