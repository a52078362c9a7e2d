"""The lab's runtime record, LAB_DIR/state.json: what `up` made, so `status` and `down` can find it."""

import json
import os

from . import topology
from .shell import write_file


def load():
    """The saved state, or an empty dict when there is none (lab absent or torn down)."""
    try:
        with open(topology.STATE_FILE) as src:
            return json.load(src)
    except FileNotFoundError:
        return {}


def docker_guest_count(state=None):
    """How many Docker guests `up` made (state: a loaded state, else the saved one); one when none is recorded,
    as `up` makes by default."""
    return (load() if state is None else state).get("docker_guests", 1)


def save(state):
    """Write the state (only if it changed)."""
    os.makedirs(topology.LAB_DIR, exist_ok=True)
    write_file(topology.STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n", 0o644)


def remove():
    """Forget the state (end of `down`)."""
    try:
        os.unlink(topology.STATE_FILE)
    except FileNotFoundError:
        pass
