"""Shared test helpers: a validated lab inventory with throwaway secrets, no lab needed."""

from __future__ import annotations

import os
from pathlib import Path

# Importing pyinfra_cli patches the standard library for gevent (building an inventory imports it). pyinfra
# asks API users to patch first: patching halfway through the run, while test threads (fakepve, proxies, app
# fakes) existed, once left an import lock held by a thread gevent no longer saw, and the suite hung.
import pyinfra_cli  # noqa: F401
import pytest
import yaml

from mediabox.run import load_inventory

VERIFY = Path(__file__).resolve().parent / "verify"


def pytest_ignore_collect(collection_path, config):
    """tests/verify checks a box over SSH: it runs only when asked for by path (pytest tests/verify --inventory ...),
    never as part of the whole suite (the lab tier runs it itself, tests/lab/test_verify.py)."""
    if collection_path == VERIFY and not any(Path(arg).resolve().is_relative_to(VERIFY) for arg in config.args):
        return True
    return None


VALID_SECRETS = {"pve_password": "not-a-real-password", "vpn_wireguard_private_key": "not-a-real-key"}


def write_secrets(path: Path, values: dict[str, str], mode: int = 0o600) -> Path:
    path.write_text(yaml.safe_dump(values))
    os.chmod(path, mode)
    return path


@pytest.fixture
def lab_inventory(tmp_path):
    """Build the lab inventory (inventory/lab.py) with overrides, secrets and CA file in tmp_path."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not checked by validation\n")

    def build(overrides=None, secrets=None, secrets_mode=0o600):
        """secrets: the file's content; None keeps the file of an earlier build (or writes VALID_SECRETS)."""
        secrets_file = tmp_path / "secrets.yml"
        if secrets is not None or not secrets_file.exists():
            write_secrets(secrets_file, VALID_SECRETS if secrets is None else secrets, secrets_mode)
        data = {"secrets_file": str(secrets_file), "pve_ca_file": str(ca_file), **(overrides or {})}
        return load_inventory("inventory/lab.py", data)

    return build
