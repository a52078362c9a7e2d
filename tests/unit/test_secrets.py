"""The secrets file: generated where the engine can, required where it cannot, always 0600, never shown."""

from __future__ import annotations

import re
import stat

import pytest
import yaml

from mediabox import secrets
from mediabox.run import validate
from mediabox.settings import SettingsError
from tests.conftest import VALID_SECRETS


def test_generates_missing_app_secrets_0600_and_keeps_them(lab_inventory, tmp_path):
    run = validate(lab_inventory())
    path = tmp_path / "secrets.yml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = yaml.safe_load(path.read_text())
    assert re.fullmatch(r"[0-9a-f]{32}", stored["sonarr_api_key"])  # the *arr key format
    assert len(stored["qbittorrent_password"]) >= 20
    assert stored["pve_password"] == VALID_SECRETS["pve_password"]
    assert run.secrets["sonarr_api_key"] == stored["sonarr_api_key"]

    before, mtime = path.read_text(), path.stat().st_mtime_ns
    validate(lab_inventory())
    assert (path.read_text(), path.stat().st_mtime_ns) == (before, mtime)  # nothing regenerated or rewritten


def test_only_enabled_services_get_secrets(lab_inventory, tmp_path):
    validate(lab_inventory({"sonarr_enabled": False}))
    assert "sonarr_api_key" not in yaml.safe_load((tmp_path / "secrets.yml").read_text())


def test_repr_never_shows_a_value(lab_inventory):
    run = validate(lab_inventory())
    for text in (repr(run.secrets), str(run.secrets), repr(run)):
        assert VALID_SECRETS["pve_password"] not in text
        assert run.secrets["sonarr_api_key"] not in text


def test_token_auth_requires_token_secrets(lab_inventory):
    with pytest.raises(SettingsError) as raised:
        validate(lab_inventory({"pve_auth": "token"}))
    keys = [p.message for p in raised.value.problems]
    assert any("lacks pve_token_id" in m for m in keys) and any("lacks pve_token_secret" in m for m in keys)


def test_write_is_atomic_and_private(tmp_path):
    path = tmp_path / "deep" / "secrets.yml"
    secrets.write(path, {"a": "1"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["secrets.yml"]
