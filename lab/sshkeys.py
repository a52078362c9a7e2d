"""SSH access to the lab hosts: the lab key LAB_DIR/id_ed25519, LAB_DIR/known_hosts, and an ssh runner.

Use from a shell:  ssh -i .lab/id_ed25519 -o UserKnownHostsFile=.lab/known_hosts root@10.213.0.2
"""

import base64
import hashlib
import hmac
import os
import subprocess

from . import topology
from .shell import LabError, run, say, tcp_open, wait_until, write_file

STEP = "ssh"


def ensure_key():
    """Create the lab's ed25519 keypair once. Returns the public key line."""
    os.makedirs(topology.LAB_DIR, exist_ok=True)
    if os.path.exists(topology.SSH_KEY) and os.path.exists(topology.SSH_KEY + ".pub"):
        say(STEP, f"ok (key already present: {topology.SSH_KEY})")
    else:
        for path in (topology.SSH_KEY, topology.SSH_KEY + ".pub"):
            if os.path.exists(path):
                os.unlink(path)
        run(STEP, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "homelab-lab", "-f", topology.SSH_KEY])
        say(STEP, f"created key {topology.SSH_KEY}")
    with open(topology.SSH_KEY + ".pub") as pub:
        return pub.read().strip()


def ssh_options():
    """Options for non-interactive key-only root logins to the lab hosts."""
    return ["-F", "/dev/null", "-i", topology.SSH_KEY, "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=" + topology.KNOWN_HOSTS, "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]


def ssh(step, ip, command, check=True, timeout=300):
    """Run a shell command as root on a lab host over SSH; returns the CompletedProcess."""
    return run(step, ["ssh"] + ssh_options() + ["root@" + ip, command], check=check, timeout=timeout)


def _scan(ip):
    """The host key lines sshd at ip offers (ssh-keyscan), sorted; [] if it does not answer yet."""
    result = subprocess.run(["ssh-keyscan", "-T", "3", "-t", "ed25519,ecdsa,rsa", ip],
                            capture_output=True, text=True, timeout=30)
    return sorted(line for line in result.stdout.splitlines() if line and not line.startswith("#"))


def _is_for(line, ip):
    """True when a known_hosts line is about ip (plain, or hashed as |1|salt|hmac by HashKnownHosts)."""
    hosts = line.split(" ", 1)[0]
    if hosts.startswith("|1|"):
        try:
            salt, digest = (base64.b64decode(part) for part in hosts[3:].split("|", 1))
        except ValueError:
            return False
        return hmac.compare_digest(hmac.new(salt, ip.encode(), hashlib.sha1).digest(), digest)
    return ip in hosts.split(",")


def _known_lines():
    try:
        with open(topology.KNOWN_HOSTS) as src:
            return [line.rstrip("\n") for line in src if line.strip()]
    except FileNotFoundError:
        return []


def refresh_known_host(ip, timeout=60):
    """Make known_hosts hold exactly the keys sshd at ip offers now (after a container was recreated).

    Waits (bounded) for sshd to answer. Returns True if the file changed.
    """
    wait_until(STEP, f"sshd on {ip}:22", lambda: tcp_open(ip, 22), timeout=timeout)
    scanned = wait_until(STEP, f"ssh-keyscan {ip}", lambda: _scan(ip), timeout=20)
    others = [line for line in _known_lines() if not _is_for(line, ip)]
    current = sorted(line for line in _known_lines() if _is_for(line, ip))
    if current == scanned:
        return False
    write_file(topology.KNOWN_HOSTS, "\n".join(others + scanned) + "\n", 0o644)
    return True


def forget_host(ip):
    """Drop ip's entries from known_hosts (at `down`; the next container gets new host keys)."""
    lines = _known_lines()
    kept = [line for line in lines if not _is_for(line, ip)]
    if kept != lines:
        write_file(topology.KNOWN_HOSTS, "".join(line + "\n" for line in kept), 0o644)


def check_login(step, ip, timeout=30):
    """Prove a key-only root login works (bounded retries while sshd starts)."""
    def attempt():
        return ssh(step, ip, "true", check=False, timeout=15).returncode == 0
    try:
        wait_until(step, f"ssh root@{ip} true", attempt, timeout=timeout, interval=0.5)
    except LabError:
        result = ssh(step, ip, "true", check=False, timeout=15)
        raise LabError(step, "ssh root@{} fails: {}".format(ip, (result.stderr or "").strip())) from None
