"""The media server deploy: `pyinfra inventory.py deploy.py` (see README.md).

Validates every host's settings, then runs the stages in order: preflight, host, guests, docker,
stack, wire, verify. Choose stages with `--data stages=host,guests`.
"""

from deploy import run_stages

run_stages()
