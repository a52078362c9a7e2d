"""Every user mistake, through the real CLI against the lab: a non-zero exit, the key and the fix in
the message, no traceback, and no file changed on any host."""

from __future__ import annotations

import os

import pytest

import lab.topology as topology
from tests.conftest import write_secrets
from tests.lab.conftest import deploy, ssh
from tests.settings_cases import CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_setting_is_refused_before_any_change(case, unchanged_hosts, tmp_path):
    data = dict(case.data)
    if case.secrets is not None:
        data["secrets_file"] = str(write_secrets(tmp_path / "secrets.yml", case.secrets, case.secrets_mode))
    result = deploy(data)
    assert result.returncode != 0, result.output
    assert case.key in result.output and case.fix in result.output, result.output
    for text in case.extra:
        assert text in result.output
    assert "Traceback" not in result.output
    assert "Starting operation" not in result.output and "Beginning operation run" not in result.output
    assert unchanged_hosts() == {ct["name"]: [] for ct in topology.CONTAINERS}


def test_lab_secrets_file_is_private(lab):
    assert oct(os.stat(os.path.join(topology.LAB_DIR, "secrets.yml")).st_mode & 0o777) == "0o600"


def test_change_detector_sees_a_change(unchanged_hosts):
    """The no-change check above can fail: a file written during the window is reported."""
    ssh(topology.PVE_HOST["name"], "touch /etc/mediabox-probe")
    try:
        assert "/etc/mediabox-probe" in unchanged_hosts()[topology.PVE_HOST["name"]]
    finally:
        ssh(topology.PVE_HOST["name"], "rm -f /etc/mediabox-probe")
