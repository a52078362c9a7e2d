"""The NAS guest's Samba server, for real in the lab's lab-nas container: the shares serve the data
subvolume to the generated user only, files land as the apps' files do, and drift is healed in one run."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

import lab.topology as topology
from lab import containers, sshkeys
from tests.lab.conftest import deploy, ssh

NAS = topology.NAS_GUEST
STAGE = {"stages": "guests"}


@pytest.fixture
def nas(lab):
    result = deploy(STAGE)
    assert result.returncode == 0, result.output
    secrets = yaml.safe_load(open(topology.SECRETS_FILE))
    return secrets["nas_password"]


def smbclient(share: str, credentials: str, command: str) -> subprocess.CompletedProcess:
    """smbclient on the lab machine against lab-nas over the lab bridge; credentials via a 0600 file."""
    path = os.path.join(topology.LAB_DIR, "smb-credentials")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(credentials)
    try:
        return subprocess.run(["smbclient", f"//{NAS['ip']}/{share}", "-A", path, "-c", command],
                              capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)


def test_share_serves_the_data_subvolume_as_the_apps_user(nas, tmp_path):
    sample = tmp_path / "sample.txt"
    sample.write_text("from the LAN\n")
    done = smbclient("media", f"username = media\npassword = {nas}\n", f"put {sample} movies/from-the-lan.txt")
    assert done.returncode == 0, done.stdout + done.stderr
    landed = os.path.join(topology.GUEST_STORAGE_DIR, "data", "media", "movies", "from-the-lan.txt")
    stat = os.stat(landed)
    assert (stat.st_uid, stat.st_gid) == (topology.IDMAP_BASE + 1000, topology.IDMAP_BASE + 1000)
    listing = smbclient("downloads", f"username = media\npassword = {nas}\n", "ls")
    assert "complete" in listing.stdout, listing.stdout + listing.stderr
    os.unlink(landed)


def test_wrong_password_and_anonymous_are_refused(nas):
    wrong = smbclient("media", "username = media\npassword = not-the-password\n", "ls")
    assert wrong.returncode != 0 and "NT_STATUS_LOGON_FAILURE" in wrong.stdout + wrong.stderr
    anonymous = subprocess.run(["smbclient", f"//{NAS['ip']}/media", "-N", "-c", "ls"],
                               capture_output=True, text=True, timeout=60)
    assert anonymous.returncode != 0


def test_drift_is_healed_in_one_run(nas):
    ssh(NAS["name"], "sed -i 's/read only = no/read only = yes/' /etc/samba/smb.conf && "
                     "printf 'other\\nother\\n' | smbpasswd -s media && systemctl stop smbd")
    healed = deploy(STAGE)
    assert healed.returncode == 0, healed.output
    for operation in ("Samba configuration", "Samba user media", "smbd running"):
        assert healed.changed(operation), (operation, healed.output)
    assert "read only = yes" not in ssh(NAS["name"], "cat /etc/samba/smb.conf")
    assert smbclient("media", f"username = media\npassword = {nas}\n", "ls").returncode == 0
    assert deploy(STAGE).changed_nothing


def test_nas_without_its_data_mount_is_refused(nas):
    ssh(NAS["name"], "umount /data")
    try:
        result = deploy(STAGE)
        assert result.returncode != 0
        assert "lab-nas has no /data mount" in result.output and "pct reboot" in result.output
    finally:  # a restart brings the mount back, as `pct reboot` would
        containers.stop(NAS["name"])
        containers.start(NAS["name"])
        sshkeys.check_login("ssh", NAS["ip"])
