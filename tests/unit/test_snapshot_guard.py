"""A guest's stack changes only after its appdata snapshot was recorded in the same run, with the host and mount
that took it (where a failed update's appdata comes back from)."""

import pytest
from pyinfra.api.exceptions import OperationError

from operations.docker import _require_snapshot
from operations.storage import _record_snapshot


def test_compose_waits_for_the_snapshot_of_its_own_guest():
    taken: dict[str, tuple[str, str]] = {}
    with pytest.raises(OperationError, match="no snapshot of appdata was taken for media"):
        _require_snapshot(taken, "media")
    _record_snapshot(taken, ["other"], "pve", "/mnt/storage")
    with pytest.raises(OperationError):
        _require_snapshot(taken, "media")
    _record_snapshot(taken, ["media"], "pve", "/mnt/storage")
    _require_snapshot(taken, "media")
    assert taken["media"] == ("pve", "/mnt/storage")
