"""A guest's stack changes only after its appdata snapshot was recorded in the same run (the Proxmox host that
took it, the mount and the snapshot's name, which a failed update's appdata comes back from)."""

import pytest
from pyinfra.api.exceptions import OperationError

from operations.docker import _require_snapshot


def test_compose_waits_for_the_snapshot_of_its_own_guest():
    taken: dict[str, tuple[str, str, str]] = {}
    with pytest.raises(OperationError, match="no snapshot of appdata was taken for media"):
        _require_snapshot(taken, "media")
    taken["other"] = ("pve", "/mnt/storage", "appdata-2026-12-04T200000")
    with pytest.raises(OperationError):
        _require_snapshot(taken, "media")
    taken["media"] = ("pve", "/mnt/storage", "appdata-2026-12-04T200000")
    _require_snapshot(taken, "media")
