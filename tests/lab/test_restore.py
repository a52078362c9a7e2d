"""restore.py against the lab (issue #7's acceptance 1): an app's appdata deleted on the pool comes back from the
read-only snapshot taken before, with the app stopped and started around it and its neighbours untouched; what
was replaced is kept in a snapshot of its own; a bad service or snapshot is refused before anything changes.

The lab's seam (README): the Proxmox host's pool and the Docker guest's /appdata are not one folder here, so the
app's state is checked on the pool (the folder a real guest binds), and the stop and start on the real guest."""

from __future__ import annotations

import secrets as random

import pytest

import lab.topology as topology
from tests.lab.conftest import PYINFRA, REPO, Deploy, deploy, ssh

PVE, GUEST = topology.PVE_HOST["name"], topology.DOCKER_GUEST["name"]
APPDATA = "/mnt/storage/appdata"


def restore(*data: str) -> Deploy:
    import os
    import subprocess
    args = [PYINFRA, "-y", "inventory/lab.py", "restore.py"]
    for item in data:
        args += ["--data", item]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYINFRA_PROGRESS": "off"})
    return Deploy(done.returncode, done.stdout + done.stderr)


def started_at(container: str) -> str:
    return ssh(GUEST, f"docker inspect -f '{{{{.State.StartedAt}}}}' {container}").strip()


@pytest.fixture(scope="module")
def converged(lab):
    first = deploy()
    assert first.returncode == 0, first.output[-6000:]


def test_a_deleted_apps_appdata_comes_back_from_the_snapshot(converged):
    state = random.token_hex(16)
    ssh(PVE, f"echo {state} > {APPDATA}/sonarr/fake-state.json && echo kept > {APPDATA}/radarr/marker && "
             "systemctl start mediabox-snapshot.service")
    ssh(PVE, f"rm -rf {APPDATA}/sonarr/* && echo new > {APPDATA}/sonarr/made-after-the-snapshot")
    before = {name: started_at(name) for name in ("sonarr", "radarr")}
    done = restore("restore_service=sonarr")
    assert done.returncode == 0, done.output[-4000:]
    assert done.changed("Stopped for the restore") and done.changed("Appdata restored from latest")
    assert done.changed("Started again after the restore")
    assert ssh(PVE, f"ls {APPDATA}/sonarr").split() == ["fake-state.json"]
    assert ssh(PVE, f"cat {APPDATA}/sonarr/fake-state.json").strip() == state
    # what the restore replaced is kept, read-only, in a snapshot of its own
    kept = ssh(PVE, "ls -d /mnt/storage/snapshots/appdata-*-before-restore | tail -1").strip()
    assert ssh(PVE, f"cat {kept}/sonarr/made-after-the-snapshot").strip() == "new"
    assert "ro=true" in ssh(PVE, f"btrfs property get -ts {kept} ro")
    assert started_at("sonarr") > before["sonarr"] and started_at("radarr") == before["radarr"]
    assert ssh(GUEST, "docker inspect -f '{{.State.Health.Status}}' sonarr").strip() == "healthy"
    assert ssh(PVE, f"cat {APPDATA}/radarr/marker").strip() == "kept"


def test_an_unknown_service_or_snapshot_is_refused_before_anything_changes(converged, unchanged_hosts):
    unknown = restore("restore_service=sonar")
    assert unknown.returncode != 0 and "restore_service = 'sonar'" in unknown.output
    assert "not an enabled service" in unknown.output and "Traceback" not in unknown.output
    missing = restore("restore_service=sonarr", "restore_snapshot=appdata-2020-01-01T000000")
    assert missing.returncode != 0
    assert "no snapshot 'appdata-2020-01-01T000000' of appdata in /mnt/storage/snapshots" in missing.output
    assert "Traceback" not in missing.output
    nothing = restore()
    assert nothing.returncode != 0 and "--data restore_service=<service>" in nothing.output
    assert ssh(GUEST, "docker inspect -f '{{.State.Status}}' sonarr").strip() == "running"
    assert unchanged_hosts()[PVE] == []
