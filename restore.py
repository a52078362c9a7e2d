"""Bring apps' appdata back from a read-only snapshot: `pyinfra inventory.py restore.py --data restore_service=sonarr`
(or `all`), with `--data restore_snapshot=<name>` for another snapshot than the latest (see README.md).

Validates every host's settings as deploy.py does, runs the preflight, then deploy/restore.py.
"""

from deploy import run_restore

run_restore()
