"""The base root filesystem of both lab containers: a Debian minbase tarball built once with mmdebstrap.

It holds what a PVE debian-12-standard template (and, for the host stand-in, a Debian PVE host) has that later
stages need: systemd as init, sshd, python3, ifupdown (PVE writes /etc/network/interfaces), bridge-utils (for
vmbr0 in the host stand-in), and a few basics. SSH host keys are removed from the tarball; each container
gets its own (see containers.py). apt lists are not kept: like a fresh template, `apt-get update` comes first.

The tarball is cached as CACHE_DIR/lab-<suite>-<hash>.tar.zst, the hash covering everything that goes into it.
"""

import glob
import hashlib
import os
import stat

from . import topology
from .shell import LabError, run, say

STEP = "rootfs"

PACKAGES = [
    "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2", "procps", "ca-certificates",
    "ifupdown", "bridge-utils", "iputils-ping", "curl", "less",
]

# Run by mmdebstrap inside the build, with the new root as "$1".
CUSTOMIZE_HOOKS = [
    # Per-container host keys are generated at container creation.
    'rm -f "$1"/etc/ssh/ssh_host_*',
    # Containers get their own machine-id at creation.
    ': > "$1"/etc/machine-id',
]

# Leave out man pages, docs (except copyright files) and translations, like Debian's slim images: a third fewer
# files, and file creation is what makes unpacking slow on this machine. The rule stays in the rootfs
# (/etc/dpkg/dpkg.cfg.d/99mmdebstrap), so later installs skip them too.
DPKG_OPTIONS = [
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
]

# Bump when anything else about the recipe changes, to force a rebuild.
RECIPE_VERSION = 1


def host_mirror():
    """The Debian mirror URI the machine itself uses (deb822 .sources files first, then sources.list)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as src:
            for line in src:
                if line.startswith("URIs:"):
                    for uri in line.split()[1:]:
                        if uri.rstrip("/").endswith("/debian"):
                            return uri.rstrip("/")
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as src:
                for line in src:
                    parts = line.split()
                    if len(parts) >= 3 and parts[0] == "deb":
                        uri = [p for p in parts[1:] if not p.startswith("[")][0]
                        if uri.rstrip("/").endswith("/debian"):
                            return uri.rstrip("/")
        except FileNotFoundError:
            continue
    raise LabError(STEP, "no Debian mirror (a URI ending in /debian) found in the machine's apt sources")


def apt_sources(mirror):
    """The rootfs' apt sources: the release, its updates and the security suite, all on the machine's mirror.

    Debian's separate security host is unreachable here, so security comes from <mirror host>/debian-security.
    """
    security = mirror[:-len("/debian")] + "/debian-security"
    return [
        f"deb {mirror} {topology.SUITE} main",
        f"deb {mirror} {topology.SUITE}-updates main",
        f"deb {security} {topology.SUITE}-security main",
    ]


def tarball_path(mirror):
    """CACHE_DIR/lab-<suite>-<hash of the recipe>.tar.zst."""
    recipe = "\n".join([str(RECIPE_VERSION), topology.SUITE, ",".join(PACKAGES)]
                       + apt_sources(mirror) + CUSTOMIZE_HOOKS + DPKG_OPTIONS)
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return os.path.join(topology.CACHE_DIR, f"lab-{topology.SUITE}-{digest}.tar.zst")


def ensure_tarball():
    """Build the rootfs tarball with mmdebstrap unless the cached one exists. Returns its path."""
    mirror = host_mirror()
    path = tarball_path(mirror)
    if os.path.exists(path):
        say(STEP, f"ok (already built: {path})")
        return path
    os.makedirs(topology.CACHE_DIR, exist_ok=True)
    partial = path[:-len(".tar.zst")] + ".partial.tar.zst"
    if os.path.exists(partial):
        os.unlink(partial)
    say(STEP, f"building {os.path.basename(path)} with mmdebstrap from {mirror} (takes ~30 s)")
    cmd = ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES)]
    cmd += ["--dpkgopt=" + option for option in DPKG_OPTIONS]
    cmd += ["--customize-hook=" + hook for hook in CUSTOMIZE_HOOKS]
    cmd += [topology.SUITE, partial] + apt_sources(mirror)
    try:
        run(STEP, cmd, timeout=1200)
    except LabError:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    os.replace(partial, path)
    # Older recipes' tarballs are dead weight.
    for old in glob.glob(os.path.join(topology.CACHE_DIR, f"lab-{topology.SUITE}-*.tar.zst")):
        if old != path:
            os.unlink(old)
    say(STEP, f"built {path} ({os.path.getsize(path) // 1024 ** 2} MB)")
    return path


def extract(tarball, target):
    """Unpack the tarball into the (new, empty) directory target, keeping owners, modes and xattrs."""
    os.makedirs(target, exist_ok=True)
    run(STEP, ["tar", "--zstd", "-xpf", tarball, "-C", target, "--numeric-owner",
               "--xattrs", "--xattrs-include=*"], timeout=300)


def shift_ownership(root, offset):
    """Add offset to every uid and gid under root (an unprivileged container's rootfs: CT uid 0 = host uid offset).

    chown clears setuid/setgid bits, so they are put back afterwards. Does not follow symlinks.
    """
    def shift(path):
        st = os.lstat(path)
        if st.st_uid >= offset and st.st_gid >= offset:
            return
        os.lchown(path, st.st_uid + offset if st.st_uid < offset else st.st_uid,
                  st.st_gid + offset if st.st_gid < offset else st.st_gid)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            os.chmod(path, stat.S_IMODE(st.st_mode))

    shift(root)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            shift(os.path.join(parent, name))


def _safe_target(root, relpath):
    """The host path of relpath inside root, refusing symlinks on the way (they could point outside root)."""
    parts = [p for p in relpath.split("/") if p]
    current = root
    for part in parts[:-1]:
        current = os.path.join(current, part)
        if os.path.islink(current):
            raise LabError(STEP, f"refusing to write through symlink {current}")
        if not os.path.isdir(current):
            os.makedirs(current, mode=0o755)
    target = os.path.join(current, parts[-1])
    if os.path.islink(target):
        os.unlink(target)
    return target


def put(root, relpath, text, mode=0o644):
    """Write a file (owned by root) into a rootfs, e.g. put(rootfs, "/etc/hostname", "pve1\\n")."""
    target = _safe_target(root, relpath)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chown(target, 0, 0)
    os.chmod(target, mode)


def symlink(root, relpath, pointee):
    """Create (or replace) a symlink inside a rootfs, e.g. to mask a systemd unit."""
    target = _safe_target(root, relpath)
    if os.path.lexists(target):
        os.unlink(target)
    os.symlink(pointee, target)
