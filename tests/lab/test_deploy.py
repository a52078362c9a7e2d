"""Converge, then converge again: the second run must change nothing on any host (Molecule's
idempotence step), and each stage can run alone."""

from __future__ import annotations

import json

from tests.lab.conftest import deploy


def test_deploy_twice_second_run_changes_nothing(lab):
    first = deploy()
    assert first.returncode == 0, first.output
    second = deploy()
    assert second.changed_nothing, second.output
    assert "btrfs RAID1 pool" in second.results and "Container 200 (lab-docker)" in second.results
    assert "Pool healthy (free space, device errors)" in second.results
    assert "Stack healthy (every container)" in second.results
    assert "stage wire:" not in second.output
    for operation in ("qBittorrent categories", "Sonarr download client", "Prowlarr application Radarr",
                      "autobrr download client Sonarr", "Jellyfin libraries", "Jellyfin API key in the secrets file",
                      "Seerr libraries", "Audiobookshelf libraries", "Homepage services and widgets",
                      "Homepage has the keys the apps made"):
        assert operation in second.results, operation


def test_a_no_op_reads_each_host_in_a_few_commands(lab, tmp_path):
    """What a converged host reports is read in batches (mediabox.readahead): before them a no-op ran 58 remote
    commands on the lab's three hosts, one per fact read and some twice; now 12 or 13 (each host's batches, the few
    reads its stages make before any operation is declared, and the maintenance checks)."""
    counted = deploy(counts=tmp_path / "counts.json")
    assert counted.changed_nothing, counted.output
    assert json.loads((tmp_path / "counts.json").read_text())["remote_commands"] <= 15


def test_one_stage_alone(lab):
    result = deploy({"stages": "host"})
    assert result.changed_nothing, result.output
    assert "btrfs RAID1 pool" in result.results
    assert "stage guests:" not in result.output
