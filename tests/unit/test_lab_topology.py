"""The lab's extra Docker guests (`python -m lab up --docker-guests N`, for make bench): each is a container of its
own, at its own address, with its own storage, and the inventory passes the engine's validation with all three."""

import lab.topology as topology
from lab import containers
from mediabox.run import load_inventory, validate


def test_extra_docker_guests_have_their_own_address_link_and_storage():
    three = topology.containers(3)
    assert [ct["name"] for ct in three] == ["lab-pve", "lab-docker", "lab-nas", "lab-docker2", "lab-docker3"]
    assert topology.containers(1) == topology.CONTAINERS
    specs = [containers.SPECS[ct["name"]] for ct in three]
    for field in ("ip", "hwaddr", "veth", "hostname"):
        assert len({spec[field] for spec in specs}) == len(specs), field
    storage = [topology.storage_dir(ct["name"]) for ct in topology.docker_guests(3)]
    assert len(set(storage)) == 3 and topology.storage_dir("lab-nas") == topology.GUEST_STORAGE_DIR
    assert all(f"{topology.storage_dir('lab-docker3')}/appdata appdata" in line
               for line in containers.config_text("lab-docker3", {}).splitlines() if "appdata appdata" in line)


def test_an_inventory_of_three_docker_guests_is_valid_and_keeps_app_made_keys_apart(tmp_path, monkeypatch):
    from mediabox.secrets import key_name

    secrets = tmp_path / "secrets.yml"
    secrets.write_text("pve_password: x\nvpn_wireguard_private_key: y\n")
    secrets.chmod(0o600)
    ca_file = tmp_path / "pve-root-ca.pem"  # the lab's is made by `lab up`
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr("lab.state.load", lambda: {"docker_guests": 3})
    inventory = load_inventory("inventory/lab.py", {"secrets_file": str(secrets), "pve_ca_file": str(ca_file)})
    run = validate(inventory)
    assert run.hosts_in("docker_guests") == ["lab-docker", "lab-docker2", "lab-docker3"]
    assert [key_name("jellyfin", run.key_scope(name)) for name in run.hosts_in("docker_guests")] == [
        "jellyfin_api_key_media", "jellyfin_api_key_media2", "jellyfin_api_key_media3"]
