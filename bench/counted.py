"""`python -m bench.counted <pyinfra arguments>`: the pyinfra CLI, counting what the run asks of the hosts and the
APIs: every remote command (facts and operations alike, over SSH) and every HTTP request by method and path (the
Proxmox API through proxmoxer, the apps through requests). The counts go to the JSON file named by BENCH_COUNTS."""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections import Counter
from urllib.parse import urlsplit

import pyinfra_cli  # noqa: F401  (patches the standard library for gevent first, as the CLI does)
import requests
from pyinfra.connectors.ssh import SSHConnector
from pyinfra_cli.main import main

COUNTS: Counter = Counter()


def _counting(method, key):
    def counted(*args, **kwargs):
        COUNTS[key(*args, **kwargs)] += 1
        return method(*args, **kwargs)
    return counted


def _write_counts() -> None:
    with open(os.environ["BENCH_COUNTS"], "w") as out:
        json.dump(dict(COUNTS), out)


SSHConnector.run_shell_command = _counting(SSHConnector.run_shell_command, lambda *a, **k: "remote_commands")
requests.Session.request = _counting(
    requests.Session.request, lambda self, method, url, *a, **k: f"http {str(method).upper()} {urlsplit(url).path}")

if __name__ == "__main__":
    atexit.register(_write_counts)
    sys.argv[0] = "pyinfra"
    sys.exit(main())
