"""operations.proxmox against fakepve (in-process): reads in the body, one write only when missing."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from pyinfra.api import OperationValueError
from pyinfra.context import ctx_host, ctx_state

from operations import proxmox
from tests.test_operations import FakeHost, empty_state

ARGS = {"storage": "mediabox-backup", "path": "/mnt/storage/backups", "content": "backup", "mountpoint": "/mnt/storage"}


@pytest.fixture
def api(fakepve, fakepve_cafile):
    return ProxmoxAPI(fakepve.host, port=fakepve.port, user="root@pam", password="secret", verify_ssl=fakepve_cafile)


def converge(api, **overrides):
    fake = FakeHost({})
    with ctx_state.use(empty_state()), ctx_host.use(fake):
        commands = list(proxmox.storage_dir._inner(api=api, **{**ARGS, **overrides}))
    for command in commands:
        command.function(*command.args, **command.kwargs)
    return commands, fake.noop_description


def writes(pve) -> list:
    return [(method, path) for method, path, _ in pve.requests if method in ("POST", "PUT", "DELETE")
            and path != "/api2/json/access/ticket"]


def test_registers_once_then_changes_nothing(api, fakepve):
    commands, _ = converge(api)
    assert [c.function.__name__ for c in commands] == ["_create_storage"]
    stored = {s["storage"]: s for s in api.storage.get()}["mediabox-backup"]
    assert (stored["path"], stored["content"], stored["type"]) == ("/mnt/storage/backups", "backup", "dir")
    before = len(writes(fakepve))
    commands, noop = converge(api)
    assert commands == [] and noop == "Proxmox storage mediabox-backup exists"
    assert len(writes(fakepve)) == before


def test_existing_storage_elsewhere_is_left_alone(api, fakepve):
    converge(api, path="/mnt/storage/other")
    before = len(writes(fakepve))
    commands, _ = converge(api)
    assert commands == [] and len(writes(fakepve)) == before
    assert {s["storage"]: s for s in api.storage.get()}["mediabox-backup"]["path"] == "/mnt/storage/other"


def test_path_outside_the_mount_is_invalid(api):
    with pytest.raises(OperationValueError):
        converge(api, path="/var/lib/vz/dump")
