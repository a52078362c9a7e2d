"""The apt proxy: Debian's apt-cacher-ng, started by hand (no systemd here), on 10.213.0.1:3142 and 127.0.0.1:3142.

The lab hosts have no internet, no NAT and no DNS: their apt sends full URLs to this proxy
(/etc/apt/apt.conf.d/00lab-proxy), and apt-cacher-ng fetches them from the mirror on the lab machine's behalf.
Its cache (CACHE_DIR/apt-cacher-ng) is kept across `down`; config, pid and logs live in LAB_DIR/apt-cacher-ng.
"""

import os
from urllib.parse import urlsplit

from . import topology
from .shell import (
    LabError,
    find_processes,
    say,
    spawn_daemon,
    stop_daemon,
    tcp_open,
    wait_until,
    write_file,
)

STEP = "apt-proxy"
BINARY = "/usr/sbin/apt-cacher-ng"
CONF_DIR = os.path.join(topology.APT_PROXY_DIR, "conf")
PID_FILE = os.path.join(topology.APT_PROXY_DIR, "apt-cacher-ng.pid")
LOG_DIR = os.path.join(topology.APT_PROXY_DIR, "log")
CACHE = os.path.join(topology.CACHE_DIR, "apt-cacher-ng")


def address():
    """(host, port) of the proxy as the containers see it."""
    url = urlsplit(topology.APT_PROXY)
    return url.hostname, url.port


def apt_conf():
    """The apt config snippet both containers get as /etc/apt/apt.conf.d/00lab-proxy."""
    return ('// The lab has no internet: apt goes through apt-cacher-ng on the lab machine.\n'
            f'Acquire::http::Proxy "{topology.APT_PROXY}";\n')


def config_text():
    """apt-cacher-ng configuration. No Remap rules: it works as a plain caching HTTP proxy."""
    host, port = address()
    return "\n".join([
        "# apt-cacher-ng for the lab (python -m lab up); generated, do not edit.",
        "CacheDir: " + CACHE,
        "LogDir: " + LOG_DIR,
        "SupportDir: /usr/lib/apt-cacher-ng",
        f"Port: {port}",
        f"BindAddress: {host} 127.0.0.1",
        "PidFile: " + os.path.join(topology.APT_PROXY_DIR, "acng-own.pid"),
        "SocketPath: " + os.path.join(topology.APT_PROXY_DIR, "admin.socket"),
        "ForeGround: 1",
        "ReportPage: acng-report.html",
        "ExThreshold: 4",
        "",
    ])


def is_ours(argv):
    """True for an apt-cacher-ng started by this lab (its -c points into LAB_DIR)."""
    return bool(argv) and os.path.basename(argv[0]) == "apt-cacher-ng" and CONF_DIR in argv


def running_pids():
    """PIDs of the lab's apt-cacher-ng processes."""
    return find_processes(is_ours)


def ensure():
    """Start apt-cacher-ng unless the lab's instance already runs and answers. Returns its PID."""
    host, port = address()
    for path in (CONF_DIR, LOG_DIR, CACHE):
        os.makedirs(path, exist_ok=True)
    changed = write_file(os.path.join(CONF_DIR, "acng.conf"), config_text())
    pids = running_pids()
    if pids and changed:
        stop()
        pids = []
    if pids and tcp_open(host, port):
        write_file(PID_FILE, f"{pids[0]}\n")
        say(STEP, f"ok (already running: pid {pids[0]}, {topology.APT_PROXY})")
        return pids[0]
    if pids:
        stop()
    if tcp_open(host, port) or tcp_open("127.0.0.1", port):
        raise LabError(STEP, f"port {port} is taken by something that is not the lab's apt-cacher-ng")
    pid = spawn_daemon([BINARY, "-c", CONF_DIR, "ForeGround=1"],
                       os.path.join(topology.LOG_DIR, "apt-cacher-ng.out"), PID_FILE)
    try:
        wait_until(STEP, f"apt-cacher-ng to listen on {host}:{port}",
                   lambda: tcp_open(host, port), timeout=15)
    except LabError:
        stop()
        log = os.path.join(topology.LOG_DIR, "apt-cacher-ng.out")
        raise LabError(STEP, f"apt-cacher-ng did not come up; see {log}") from None
    say(STEP, f"started apt-cacher-ng (pid {pid}) on {topology.APT_PROXY}, cache {CACHE}")
    return pid


def stop():
    """Stop the lab's apt-cacher-ng (pid file first, then any other instance using the lab's config)."""
    stop_daemon(STEP, "apt-cacher-ng", PID_FILE, is_ours,
                leftovers=[os.path.join(topology.APT_PROXY_DIR, "admin.socket")])
