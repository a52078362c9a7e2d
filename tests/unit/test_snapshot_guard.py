"""A guest's stack changes only after its appdata snapshot was recorded in the same run."""

import pytest
from pyinfra.api.exceptions import OperationError

from operations.docker import _require_snapshot
from operations.storage import _record_snapshot


def test_compose_waits_for_the_snapshot_of_its_own_guest():
    taken: set[str] = set()
    with pytest.raises(OperationError, match="no snapshot of appdata was taken for media"):
        _require_snapshot(taken, "media")
    _record_snapshot(taken, ["other"])
    with pytest.raises(OperationError):
        _require_snapshot(taken, "media")
    _record_snapshot(taken, ["media"])
    _require_snapshot(taken, "media")
