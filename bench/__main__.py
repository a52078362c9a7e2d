"""`make bench` (`python -m bench`): what converging costs in the lab, and how it grows. Writes bench/results.json,
bench/results.md and the README's table, and prints the table. It exits non-zero only when it could not measure.

- first_converge_s: the whole deploy on a fresh lab (`lab down`, `lab up`: new containers and blank disks; images
  from the lab's registry cache);
- noop_s: the whole deploy again with nothing to change, median of 5; floor_s: pyinfra connecting to the same
  hosts and reading one fact each, median of 5, and ratio = noop_s / floor_s;
- noop_writes: operations that ran commands plus API POST/PUT/PATCH/DELETE on the no-op runs (must be 0), but for
  the POSTs that change nothing (logins, the apps' connection tests), counted apart;
  noop_remote_commands and noop_api_reads: what one no-op run asks of the hosts and the APIs;
- services_ratio: the no-op with every service enabled divided by the 8 GB preset's;
- hosts3_ratio: the no-op with three Docker guests (`python -m lab up --docker-guests 3`, each with the 8 GB
  preset's stack, converged first) divided by the no-op with one of them (`--limit` to the Proxmox host, the NAS
  and lab-docker), nine of each taken in turns in the same lab: the other guests' containers load the lab's cores
  in both alike (a real deploy runs from another machine than the box). The ratio is the median of the nine
  pairs' ratios, so drift in the machine's speed falls on both halves of a pair (hosts3_noop_s and
  hosts3_one_guest_noop_s are the medians of each). The lab goes back to one guest afterwards.

Every deploy runs with the product's health check interval (group_data/all.py), not the lab inventory's 5 s: the
lab shortens it so that the test tier's first deploys are quicker, and its checks (12 containers a guest, each every
5 s: ~0.12 of a core a guest, measured) would otherwise be measured as load that a user's box does not carry.
"""

from __future__ import annotations

import json
import os
import platform
import re
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from lab import topology
from mediabox.catalog import SERVICES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench"
README = ROOT / "README.md"
MARKS = ("<!-- bench: start -->", "<!-- bench: end -->")
RUNS = 5
# hosts3_ratio's pairs: a ratio of two runs moves more than either run, so it takes more of them (sets of five
# paired runs in the same lab, minutes apart, gave medians from 1.13 to 1.42).
PAIRS = 9
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# POSTs that change no state: logins (Proxmox's ticket, qBittorrent, Jellyfin, Audiobookshelf, autobrr) and the
# apps' tests of a stored download client or application (run when its password reads back masked).
UNCHANGING_POST = re.compile(r"(/access/ticket|/auth/login|/AuthenticateByName|^/login|/test)$")
GOALS = {"ratio": ("<=", 3), "noop_writes": ("==", 0), "hosts3_ratio": ("<=", 1.3), "services_ratio": ("<=", 1.5),
         "first_converge_s": ("<", 300)}
# Every service on, in a guest big enough for all their memory limits (8.4 GB), for services_ratio.
EVERY_SERVICE = {**{f"{name}_enabled": True for name in SERVICES}, "guest_memory_mb": 10240}
# What every measured deploy runs with: the product's defaults where the lab inventory changes them for speed.
PRODUCT = {"health_check_interval_s": runpy.run_path(str(ROOT / "group_data" / "all.py"))["health_check_interval_s"]}
# The deploy with one Docker guest where the lab has three.
ONE_GUEST = tuple(arg for name in (topology.PVE_HOST["name"], topology.NAS_GUEST["name"],
                                   topology.DOCKER_GUEST["name"]) for arg in ("--limit", name))


class NotMeasured(Exception):
    """A run the figures depend on failed: the benchmark says which, and exits non-zero."""


def pyinfra(*args: str, data: dict | None = None) -> dict:
    """One counted pyinfra run against the lab: its seconds, its output, and what it asked."""
    with tempfile.NamedTemporaryFile(suffix=".json") as counts:
        argv = [sys.executable, "-m", "bench.counted", "-y", "inventory/lab.py", *args]
        for key, value in (data or {}).items():
            argv += ["--data", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
        start = time.monotonic()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "PYINFRA_PROGRESS": "off", "BENCH_COUNTS": counts.name})
        seconds = time.monotonic() - start
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-3000:]
            raise NotMeasured(f"`{' '.join(argv[2:])}` failed ({done.returncode}):\n{output}")
        asked = json.loads(Path(counts.name).read_text() or "{}")
    return {"seconds": seconds, "output": done.stdout + done.stderr, "asked": asked}


def changed_operations(output: str) -> int:
    """The Success column of a deploy's Results table (pyinfra prints it on stderr): operations that ran commands."""
    total = next((line.split()[2:6] for line in output.splitlines() if line.strip().startswith("Grand total")), None)
    if total is None:
        raise NotMeasured(f"a deploy printed no Results table:\n{output[-3000:]}")
    return 0 if total[1] == "-" else int(total[1])


def deploy(data: dict | None = None, limit: tuple[str, ...] = ()) -> dict:
    done = pyinfra(*limit, "deploy.py", data={**PRODUCT, **(data or {})})
    return {**done, "changed_operations": changed_operations(done["output"])}


def kind(call: str) -> str:
    """An HTTP call ("http POST /api/v2/auth/login") as a read, a write, or a POST that changes nothing (a login,
    or an app's test of a stored connection)."""
    _, method, path = call.split(" ", 2)
    if method not in WRITES:
        return "read"
    return "post_changing_nothing" if method == "POST" and UNCHANGING_POST.search(path) else "write"


def noop(data: dict | None = None, runs: int = RUNS) -> dict:
    """The median of no-op deploys, and what one asked (each must change nothing)."""
    return summary([deploy(data) for _ in range(runs)])


def noops_in_turns(limit: tuple[str, ...], runs: int = PAIRS) -> tuple[dict, dict, float]:
    """No-op deploys limited to some hosts and of every host, taken in turns: (limited, every host, the median of
    each pair's ratio every/limited)."""
    pairs = [(deploy(limit=limit), deploy()) for _ in range(runs)]
    return (summary([limited for limited, _ in pairs]), summary([every for _, every in pairs]),
            paired_ratio([(limited["seconds"], every["seconds"]) for limited, every in pairs]))


def paired_ratio(pairs: list[tuple[float, float]]) -> float:
    """The median of b / a over pairs (a, b) measured back to back: a drift in the machine's speed between pairs
    falls on both halves of a pair and cancels, where a ratio of the two medians could take them from different
    minutes."""
    return statistics.median(b / a for a, b in pairs)


def summary(measured: list[dict]) -> dict:
    """The median time of these no-op deploys, their writes, and what the last one asked."""
    asked = measured[-1]["asked"]
    calls = {key: value for key, value in asked.items() if key.startswith("http ")}
    writes = sum(m["changed_operations"] + sum(v for k, v in m["asked"].items() if k.startswith("http ")
                                               and kind(k) == "write") for m in measured)
    return {"seconds": statistics.median(m["seconds"] for m in measured), "writes": writes,
            "remote_commands": asked.get("remote_commands", 0),
            "api_reads": sum(v for k, v in calls.items() if kind(k) == "read"),
            "api_posts_changing_nothing": sum(v for k, v in calls.items() if kind(k) == "post_changing_nothing")}


def lab(*command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "lab", *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise NotMeasured(f"`python -m lab {' '.join(command)}` failed:\n{(done.stdout + done.stderr)[-3000:]}")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return (f"{cpu}, {os.cpu_count()} cores, {memory_kb // 1024 // 1024} GB, Linux {platform.release()}, "
            f"Python {platform.python_version()}, pyinfra {version('pyinfra')}")


def measure() -> dict:
    lab("down")
    lab("up")
    first = deploy()
    base = noop()
    floor = statistics.median(pyinfra("fact", "server.Hostname")["seconds"] for _ in range(RUNS))
    deploy(EVERY_SERVICE)  # converge with every service, then measure its no-op
    every = noop(EVERY_SERVICE, runs=3)
    deploy()  # back to the preset
    lab("up", "--docker-guests", "3")
    deploy()  # the two new guests converge, then the no-op of one guest and of three, in turns
    one, three, hosts3 = noops_in_turns(ONE_GUEST)
    lab("up")  # back to one Docker guest
    return {
        "first_converge_s": round(first["seconds"], 1),
        "first_converge_changed_operations": first["changed_operations"],
        "noop_s": round(base["seconds"], 2),
        "floor_s": round(floor, 2),
        "ratio": round(base["seconds"] / floor, 2),
        "noop_writes": base["writes"] + every["writes"] + one["writes"] + three["writes"],
        "noop_remote_commands": base["remote_commands"],
        "noop_api_reads": base["api_reads"],
        "noop_api_posts_changing_nothing": base["api_posts_changing_nothing"],
        "services_noop_s": round(every["seconds"], 2),
        "services_ratio": round(every["seconds"] / base["seconds"], 2),
        "hosts3_one_guest_noop_s": round(one["seconds"], 2),
        "hosts3_noop_s": round(three["seconds"], 2),
        "hosts3_ratio": round(hosts3, 2),
        "not_measured": {},
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def table(results: dict) -> str:
    rows = ["| figure | value | goal |", "|---|---|---|"]
    for key in ("first_converge_s", "noop_s", "floor_s", "ratio", "noop_writes", "noop_remote_commands",
                "noop_api_reads", "noop_api_posts_changing_nothing", "services_ratio", "hosts3_ratio"):
        value = results.get(key)
        goal = " ".join(map(str, GOALS[key])) if key in GOALS else ""
        met = "" if value is None or key not in GOALS else (" (met)" if _meets(value, *GOALS[key]) else " (missed)")
        shown = "not measured: " + results["not_measured"][key] if value is None else f"{value}{met}"
        rows.append(f"| {key} | {shown} | {goal} |")
    return "\n".join(rows) + f"\n\nMeasured {results['date']} on {results['machine']}.\n"


def _meets(value: float, op: str, goal: float) -> bool:
    return {"<=": value <= goal, "<": value < goal, "==": value == goal}[op]


def main() -> int:
    try:
        results = measure()
    except NotMeasured as error:
        print(f"bench: could not measure: {error}", file=sys.stderr)
        return 1
    RESULTS.joinpath("results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    RESULTS.joinpath("results.md").write_text(text)
    readme = README.read_text()
    start, end = readme.index(MARKS[0]) + len(MARKS[0]), readme.index(MARKS[1])
    README.write_text(readme[:start] + "\n" + text + readme[end:])
    print(text)
    return 1 if any(value is None for value in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
