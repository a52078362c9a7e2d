"""The Vagrantfile cannot run here (no VirtualBox or libvirt on CI): Ruby parses it, its provisioning scripts
parse as bash, its disks are the ones inventory/vagrant.py names, and that inventory passes the engine's
validation."""

from __future__ import annotations

import runpy
import subprocess
from pathlib import Path

from mediabox.run import load_inventory, validate
from tests.conftest import VALID_SECRETS, write_secrets

ROOT = Path(__file__).resolve().parents[2]
VAGRANTFILE = ROOT / "Vagrantfile"
# Loads the Vagrantfile with a Vagrant that takes any configuration, then prints what the test checks.
LOAD = """
module Vagrant
  class Anything
    def method_missing(*) = self
    def respond_to_missing?(*) = true
  end
  def self.configure(_version) = yield(Anything.new)
end
load ARGV[0]
puts({"disks" => DISKS, "scripts" => [PVE_KERNEL, PVE_ITSELF]}.to_json)
"""


def ruby(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ruby", *args], capture_output=True, text=True, timeout=60, check=False)


def test_ruby_parses_the_vagrantfile():
    done = ruby("-c", str(VAGRANTFILE))
    assert done.returncode == 0 and done.stdout.strip() == "Syntax OK", done.stderr


def test_its_provisioning_is_bash_and_its_disks_are_the_inventorys():
    import json

    done = ruby("-rjson", "-e", LOAD, str(VAGRANTFILE))
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    for script in loaded["scripts"]:
        parsed = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
        assert parsed.returncode == 0, parsed.stderr
    assert "apt-get install -y -q proxmox-ve" in loaded["scripts"][1]
    assert tuple(loaded["disks"]) == runpy.run_path(str(ROOT / "inventory" / "vagrant.py"))["_SERIALS"]


def test_the_vagrant_inventory_passes_validation(tmp_path):
    secrets = write_secrets(tmp_path / "secrets.yml", {"vpn_wireguard_private_key": VALID_SECRETS[
        "vpn_wireguard_private_key"]})
    run = validate(load_inventory("inventory/vagrant.py", {"secrets_file": str(secrets)}))
    assert run.hosts_in("proxmox") == ["vagrant-pve"] and run.hosts_in("docker_guests") == ["vagrant-media"]
    pve = run.settings["vagrant-pve"]
    assert pve.pve_auth == "ssh" and pve.pool_disks[0].startswith("/dev/disk/by-id/")
