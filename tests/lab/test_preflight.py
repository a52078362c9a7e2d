"""Preflight reads the real box (SSH facts, the Proxmox API) and refuses what it cannot hold."""

from __future__ import annotations

import pytest

from tests.lab.conftest import deploy
from tests.settings_cases import A

REFUSALS = [
    ("missing-disk", {"pool_disks": [A, "/dev/disk/by-id/ata-LAB_HDD_2G_NOPE"]},
     "no such disk on lab-pve", "copy the name from `ls -l /dev/disk/by-id/`"),
    ("no-igpu", {"jellyfin_hwaccel": "qsv"}, "has no /dev/dri render node", "set jellyfin_hwaccel = 'none'"),
    ("unknown-node", {"pve_node": "pve9"}, "no such node (the cluster has pve1)", "set pve_node to one of pve1"),
    ("too-many-cores", {"guest_cores": 512}, "the host has", "use at most"),
    ("api-unreachable", {"pve_api_port": 9}, "cannot reach the Proxmox API at https://127.0.213.1:9",
     "check pve_api_host and pve_api_port"),
]


@pytest.mark.parametrize("data, problem, fix", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_preflight_refuses_with_the_reason(data, problem, fix, unchanged_hosts):
    result = deploy(data)
    assert result.returncode != 0, result.output
    assert problem in result.output and fix in result.output, result.output
    assert "Traceback" not in result.output
    assert "Beginning operation run" not in result.output
    assert all(not files for files in unchanged_hosts().values())


def test_preflight_reports_what_it_read(lab):
    result = deploy({"stages": "preflight"})
    assert result.returncode == 0, result.output
    assert "preflight: Proxmox VE 9.0.10 at https://127.0.213.1:8006" in result.output
    assert "2 disks by id" in result.output
