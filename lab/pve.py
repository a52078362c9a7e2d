"""The Proxmox API stand-in: fakepve, served in-process on PVE_API (127.0.213.1:8006).

    python -m lab.pve serve      # foreground; `python -m lab up` starts it in the background

It serves one node (pve1), the default storages `local` and `local-lvm`, the CT template TEMPLATE in `local`
(content vztmpl), user root@pam with the lab's password and the API token root@pam!lab, both from
LAB_DIR/secrets.yml (so a restart keeps the same credentials). The TLS certificate comes from
fakepve.certs.make_cert and lives in LAB_DIR/pve/; clients verify with verify_ssl=<LAB_DIR/pve/fakepve.crt>.
(The machine exports REQUESTS_CA_BUNDLE, which overrides session.verify; pass verify_ssl explicitly.)

fakepve keeps everything in memory and starts no real containers: the lab makes the Docker guest itself.
Only this module imports fakepve.
"""

import argparse
import asyncio
import os
import signal
import sys
import time

from . import credentials, topology
from .shell import LabError, find_processes, python, say, spawn_daemon, stop_daemon, wait_until

STEP = "fakepve"
CERT_FILE = os.path.join(topology.PVE_DIR, "fakepve.crt")
KEY_FILE = os.path.join(topology.PVE_DIR, "fakepve.key")
PID_FILE = os.path.join(topology.PVE_DIR, "fakepve.pid")
LOG_FILE = os.path.join(topology.LOG_DIR, "fakepve.log")
# make_cert's certificates last 30 days; make a new one well before that.
CERT_MAX_AGE = 20 * 24 * 3600


def url():
    return "https://{}:{}".format(topology.PVE_API["host"], topology.PVE_API["port"])


# ----------------------------------------------------------------------------- the server (runs in its own process)

def ensure_cert():
    """A certificate for PVE_API's host in LAB_DIR/pve (new if missing or older than 20 days)."""
    from fakepve.certs import make_cert
    os.makedirs(topology.PVE_DIR, exist_ok=True)
    fresh = (os.path.exists(CERT_FILE) and os.path.exists(KEY_FILE)
             and time.time() - os.path.getmtime(CERT_FILE) < CERT_MAX_AGE)
    if not fresh:
        make_cert(topology.PVE_DIR, name="fakepve", hosts=(topology.PVE_API["host"],))
    return CERT_FILE, KEY_FILE


def build(secrets):
    """A FakePve with the lab's node, storages, template, user and token (not started)."""
    from fakepve.server import FakePve
    pve = FakePve(user=topology.PVE_API["user"], password=secrets["pve_password"],
                  host=topology.PVE_API["host"], port=topology.PVE_API["port"])
    pve.time_scale = topology.PVE_TIME_SCALE
    pve.apitokens[secrets["pve_token_id"]] = secrets["pve_token_secret"]
    pve.store_file("local", topology.TEMPLATE, topology.TEMPLATE_SIZE, content="vztmpl")
    return pve


async def serve_forever():
    secrets = credentials.load()
    if not secrets.get("pve_password"):
        raise SystemExit(f"fakepve: {topology.SECRETS_FILE} has no pve_password; run `python -m lab up`")
    cert, key = ensure_cert()
    pve = build(secrets)
    await pve.start(cert, key)
    print(f"fakepve listening on {pve.url} (node pve1, template local:vztmpl/{topology.TEMPLATE})",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await pve.stop()
    print("fakepve stopped", flush=True)


# ----------------------------------------------------------------------------- managing it from `up` / `down`

def is_ours(argv):
    """True for `python -m lab.pve serve --lab-dir <LAB_DIR>` of this lab."""
    return "lab.pve" in argv and "serve" in argv and topology.LAB_DIR in argv


def running_pids():
    return find_processes(is_ours)


def api_answers(secrets, timeout=3):
    """True when a real proxmoxer login works and GET /version answers (password and token)."""
    from proxmoxer import ProxmoxAPI
    try:
        api = ProxmoxAPI(topology.PVE_API["host"], port=topology.PVE_API["port"], user=topology.PVE_API["user"],
                         password=secrets["pve_password"], verify_ssl=CERT_FILE, timeout=timeout)
        api.version.get()
        user, token = secrets["pve_token_id"].split("!", 1)
        api = ProxmoxAPI(topology.PVE_API["host"], port=topology.PVE_API["port"], user=user, token_name=token,
                         token_value=secrets["pve_token_secret"], verify_ssl=CERT_FILE, timeout=timeout)
        api.version.get()
        return True
    except Exception:
        return False


def ensure(secrets):
    """Start fakepve in the background unless it already runs and answers; wait (bounded) for the API."""
    os.makedirs(topology.PVE_DIR, exist_ok=True)
    pids = running_pids()
    if pids and os.path.exists(CERT_FILE) and api_answers(secrets):
        say(STEP, f"ok (already running: pid {pids[0]}, {url()})")
        return pids[0]
    if pids:
        say(STEP, "running but not answering with the lab's credentials: restarting")
        stop()
    env = dict(os.environ)
    env["PYTHONPATH"] = topology.REPO_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    pid = spawn_daemon([python(), "-m", "lab.pve", "serve", "--lab-dir", topology.LAB_DIR], LOG_FILE, PID_FILE,
                       env=env, cwd=topology.REPO_DIR)

    def ready():
        if not running_pids():
            raise LabError(STEP, f"fakepve exited at start; see {LOG_FILE}:\n{_log_tail()}")
        return os.path.exists(CERT_FILE) and api_answers(secrets, timeout=2)
    wait_until(STEP, f"the fakepve API at {url()} (proxmoxer login + GET /version)", ready,
               timeout=30, interval=0.3)
    say(STEP, f"started (pid {pid}) at {url()}, node pve1, local:vztmpl/{topology.TEMPLATE}")
    return pid


def _log_tail(lines=15):
    try:
        with open(LOG_FILE, errors="replace") as src:
            return "\n".join(src.read().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop():
    """Stop the lab's fakepve (pid file first, then any other instance serving this LAB_DIR)."""
    stop_daemon(STEP, "fakepve", PID_FILE, is_ours)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.pve", description="The lab's fakepve server.")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--lab-dir", default=topology.LAB_DIR,
                        help="marks the process as this lab's (must be LAB_DIR)")
    args = parser.parse_args(argv)
    if os.path.realpath(args.lab_dir) != os.path.realpath(topology.LAB_DIR):
        parser.error(f"--lab-dir must be {topology.LAB_DIR}")
    try:
        asyncio.run(serve_forever())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
