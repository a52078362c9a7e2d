"""The lab tier: real pyinfra runs against the lab (real LXC hosts, loop disks, fakepve).

The session brings the lab up with `python -m lab up` (a no-op when it already runs) and fails
loudly when it cannot: a missing lab is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import lab.topology as topology

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
SSH_KEY = os.path.join(topology.LAB_DIR, "id_ed25519")
KNOWN_HOSTS = os.path.join(topology.LAB_DIR, "known_hosts")
LAB_HOSTS = {ct["name"]: ct["ip"] for ct in topology.CONTAINERS}


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.fail("the lab tier needs root (it makes LXC containers, loop devices and a bridge)", pytrace=False)
    up = subprocess.run([sys.executable, "-m", "lab", "up"], cwd=REPO, capture_output=True, text=True, timeout=1800)
    if up.returncode != 0:
        pytest.fail(f"`python -m lab up` failed ({up.returncode}):\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}",
                    pytrace=False)
    status = subprocess.run([sys.executable, "-m", "lab", "status", "--json"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    return json.loads(status.stdout)


@dataclass
class Deploy:
    returncode: int
    output: str

    @property
    def grand_total(self) -> dict[str, str]:
        """The Results table's last row: Hosts, Success (operations that ran commands), Error, No Change."""
        for line in self.output.splitlines():
            if line.strip().startswith("Grand total"):
                hosts, success, error, no_change = line.split()[2:6]
                return {"hosts": hosts, "success": success, "error": error, "no_change": no_change}
        return {}

    @property
    def results(self) -> dict[str, dict[str, str]]:
        """Each row of the Results table by operation name: Hosts, Success, Error, No Change."""
        rows, table = {}, self.output.split("--> Results:", 1)[-1].splitlines()[2:]
        for line in table:
            cells = line.split()
            if len(cells) < 5 or line.strip().startswith("Grand total"):
                break
            rows[" ".join(cells[:-4])] = dict(zip(("hosts", "success", "error", "no_change"), cells[-4:], strict=True))
        return rows

    def planned(self, operation: str) -> bool:
        """A --dry run's "Detected changes" table lists a change (or a conditional one) for the operation."""
        table = self.output.split("--> Detected changes:", 1)[-1].splitlines()[2:]
        for line in table:
            if line.strip().startswith(operation + "  "):
                return any(cell != "-" for cell in line.strip()[len(operation):].split())
        return False

    def changed(self, operation: str) -> bool:
        return self.results.get(operation, {}).get("success") not in (None, "-")

    @property
    def changed_nothing(self) -> bool:
        total = self.grand_total
        return self.returncode == 0 and total.get("success") == "-" and total.get("error") == "-"


def cli_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def deploy(data: dict | None = None, *extra: str, timeout: int = 900, counts: Path | None = None) -> Deploy:
    """`pyinfra -y inventory/lab.py deploy.py` with `--data key=value` overrides, as a user runs it
    (without -y for a --dry run, so pyinfra prints the changes it detected); with counts, through bench.counted,
    which writes there what the run asked of the hosts and the APIs."""
    command = [sys.executable, "-m", "bench.counted"] if counts else [PYINFRA]
    args = [*command, *([] if "--dry" in extra else ["-y"]), "inventory/lab.py", "deploy.py", *extra]
    for key, value in (data or {}).items():
        args += ["--data", f"{key}={cli_value(value)}"]
    env = {**os.environ, "PYINFRA_PROGRESS": "off", **({"BENCH_COUNTS": str(counts)} if counts else {})}
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    return Deploy(done.returncode, done.stdout + done.stderr)


def files_holding(host_name: str, values: list[str], paths: str) -> list[str]:
    """The files under paths (on a lab host) that hold any of the values; the values go over ssh's stdin,
    never into a file or a command line there."""
    done = subprocess.run(
        ["ssh", "-i", SSH_KEY, "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
         "-o", "BatchMode=yes", f"root@{LAB_HOSTS[host_name]}",
         f"grep -rlF -f /dev/stdin {paths} 2>/dev/null; true"],
        input="\n".join(values) + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def ssh(host_name: str, command: str, timeout: int = 60) -> str:
    done = subprocess.run(
        ["ssh", "-i", SSH_KEY, "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
         "-o", "BatchMode=yes", f"root@{LAB_HOSTS[host_name]}", command],
        capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"ssh {host_name} {command!r}: {done.stderr}"
    return done.stdout


# Where a login, the system or a running daemon writes by itself (motd, journal, timers, Docker's container
# state at every healthcheck, the apps' own state in /appdata); anything else newer than the start of a run
# was changed by it.
_SYSTEM_WRITES = ("/run", "/tmp", "/var/log", "/var/lib/systemd", "/var/cache", "/root/.ssh", "/var/lib/docker",
                  "/var/lib/containerd", "/appdata")
_CHANGED_SINCE = ("find / -xdev \\( " + " -o ".join(f"-path {p}" for p in _SYSTEM_WRITES) + " \\) -prune "
                  "-o -newermt @{since} -print 2>/dev/null | head -50")


@pytest.fixture
def unchanged_hosts(lab):
    """Yields a check that lists, per lab host, the files changed since the fixture started (or since a time
    the test gives, after it made changes of its own)."""
    start = time.time()  # the lab's containers share this machine's clock

    def changed(since: float | None = None) -> dict[str, list[str]]:
        mark = f"{since or start:.3f}"
        return {name: ssh(name, _CHANGED_SINCE.format(since=mark)).split() for name in LAB_HOSTS}

    return changed


@dataclass
class Inbox:
    """What the lab hosts post to notify_url (an ntfy-style endpoint: the message is the body)."""
    url: str
    received: list[str] = field(default_factory=list)

    def wait_for(self, text: str, timeout_s: float = 20) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = next((body for body in self.received if text in body), None)
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"nothing posted with {text!r} in {timeout_s} s; received: {self.received}")


@pytest.fixture
def notify_inbox(lab):
    """An HTTP endpoint on the lab bridge that records every POST, as notify_url."""
    posted: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            posted.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer((topology.GATEWAY, 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Inbox(f"http://{topology.GATEWAY}:{server.server_port}/mediabox-alerts", posted)
    server.shutdown()
