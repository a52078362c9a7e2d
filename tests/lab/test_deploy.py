"""Converge, then converge again: the second run must change nothing on any host (Molecule's
idempotence step), and each stage can run alone."""

from __future__ import annotations

from mediabox.settings import STAGES
from tests.lab.conftest import deploy


def test_deploy_twice_second_run_changes_nothing(lab):
    first = deploy()
    assert first.returncode == 0, first.output
    second = deploy()
    assert second.changed_nothing, second.output
    for stage in STAGES[1:]:
        assert f"stage {stage}:" in second.output  # every stage ran (or said it is not built yet)


def test_one_stage_alone(lab):
    result = deploy({"stages": "host"})
    assert result.changed_nothing, result.output
    assert "stage host:" in result.output
    assert "stage guests:" not in result.output
