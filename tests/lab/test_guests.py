"""The guests stage through the real CLI against an in-process fakepve (so its requests can be counted):
create the template and the Docker guest, change nothing on a second run, heal drift in one run, and
never touch a container the engine did not make. The lab's real guest container is made by the lab
itself (fakepve starts no containers); this tier proves the API lifecycle."""

from __future__ import annotations

import os

import pytest
import yaml

import lab.topology as topology
from tests.conftest import write_secrets
from tests.lab.conftest import deploy, ssh

TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"
URL = f"http://download.proxmox.com/images/system/{TEMPLATE}"
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def fake_api(lab, fakepve, fakepve_cafile, tmp_path):
    """fakepve in this process, and the `--data` that points the lab's deploy at it."""
    secrets = yaml.safe_load(open(os.path.join(topology.LAB_DIR, "secrets.yml")))
    secrets_file = write_secrets(tmp_path / "secrets.yml", {**secrets, "pve_password": "secret"})
    data = {"stages": "guests", "pve_api_host": fakepve.host, "pve_api_port": fakepve.port,
            "pve_ca_file": fakepve_cafile, "secrets_file": str(secrets_file),
            "guest_template_url": URL, "guest_template_sha512": "ab" * 64}
    return fakepve, data


def writes(pve) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in pve.requests
            if method in WRITES and not path.endswith("/access/ticket")]


def config(pve, vmid=200) -> dict:
    return dict(pve.ct(vmid).config)


def test_fresh_proxmox_gets_template_and_guest_then_no_writes(fake_api):
    pve, data = fake_api
    first = deploy(data)
    assert first.returncode == 0, first.output
    volumes = pve.storages["local"].get("volumes", {})
    assert f"vztmpl/{TEMPLATE}" in volumes
    ct = config(pve)
    assert ct["hostname"] == "media" and "mediabox" in ct["tags"] and ct["unprivileged"] == 1
    assert ct["features"] == "keyctl=1,nesting=1"
    assert ct["mp0"] == "/mnt/storage/appdata,mp=/appdata" and ct["mp1"] == "/mnt/storage/data,mp=/data"
    assert "ip=10.213.0.10/24" in ct["net0"] and "gw=10.213.0.1" in ct["net0"]
    assert pve.ct(200).status == "running"
    nas = config(pve, 201)
    assert nas["hostname"] == "nas" and nas["memory"] == 512 and nas["cores"] == 1 and "mediabox" in nas["tags"]
    assert nas["mp0"] == "/mnt/storage/data,mp=/data" and "mp1" not in nas and "features" not in nas
    assert nas["startup"] == "order=2" and pve.ct(201).status == "running"

    before = len(writes(pve))
    second = deploy(data)
    assert second.changed_nothing, second.output
    assert writes(pve)[before:] == []


def test_drift_is_healed_in_one_run(fake_api):
    pve, data = fake_api
    assert deploy(data).returncode == 0
    from proxmoxer import ProxmoxAPI

    api = ProxmoxAPI(pve.host, port=pve.port, user="root@pam", password="secret", verify_ssl=data["pve_ca_file"])
    ct = api.nodes("pve1").lxc(200)
    ct.config.put(memory=1024, cores=1, onboot=0, delete="mp1", digest=ct.config.get()["digest"])
    healed = deploy(data)
    assert healed.returncode == 0 and healed.changed("Container 200 (lab-docker)"), healed.output
    current = {e["key"]: e.get("pending", e.get("value")) for e in ct.pending.get()}
    assert (current["memory"], current["cores"], current["onboot"]) == (6144, 2, 1)
    assert current["mp1"] == "/mnt/storage/data,mp=/data"
    before = len(writes(pve))
    assert deploy(data).changed_nothing
    assert writes(pve)[before:] == []


def test_unmanaged_container_with_our_vmid_is_refused_and_untouched(fake_api):
    pve, data = fake_api
    pve.add_ct(200, "someone-elses", config={"memory": 512, "hostname": "someone-elses"})
    before = dict(pve.ct(200).config)
    result = deploy(data)
    assert result.returncode != 0
    assert "container 200 on pve1 (someone-elses) was not made by mediabox" in result.output
    assert "Choose a free guest_vmid" in result.output
    assert dict(pve.ct(200).config) == before
    assert not [w for w in writes(pve) if "/lxc" in w[1]]


def test_token_that_cannot_bind_mount_is_refused_before_any_write(fake_api, tmp_path):
    pve, data = fake_api
    pve.apitokens["root@pam!mediabox"] = "0b6f-token-secret"
    secrets = yaml.safe_load(open(data["secrets_file"]))
    token_secrets = write_secrets(tmp_path / "token-secrets.yml", {**secrets, "pve_token_id": "root@pam!mediabox",
                                                                   "pve_token_secret": "0b6f-token-secret"})
    result = deploy({**data, "pve_auth": "token", "secrets_file": str(token_secrets)})
    assert result.returncode != 0
    assert "pve_auth = 'token'" in result.output and "mp0" in result.output and "mp1" in result.output
    assert "use pve_auth = 'password' (root@pam) or 'ssh'" in result.output
    assert writes(pve) == []


def test_raw_lxc_lines_are_added_to_the_hosts_config_once(fake_api):
    """/etc/pve/lxc/<vmid>.conf is pmxcfs on a real host; in the lab it is a plain file on lab-pve."""
    _, data = fake_api
    line = "lxc.cgroup2.devices.allow: c 226:* rwm"
    conf = "arch: amd64\\nhostname: {name}\\n\\n[before-update]\\nhostname: old\\n"
    guests = ((200, "media"), (201, "nas"))
    ssh("lab-pve", "mkdir -p /etc/pve/lxc && " + " && ".join(
        f"printf '{conf.format(name=name)}' > /etc/pve/lxc/{vmid}.conf" for vmid, name in guests))
    try:
        first = deploy({**data, "guest_lxc_raw": [line]})
        assert first.returncode == 0 and first.changed("Container 200 raw lxc lines"), first.output
        assert "raw lxc line(s) apply at its next restart" in first.output
        text = ssh("lab-pve", "cat /etc/pve/lxc/200.conf")
        assert text == f"arch: amd64\nhostname: media\n\n{line}\n[before-update]\nhostname: old\n"
        assert deploy({**data, "guest_lxc_raw": [line]}).changed_nothing
    finally:
        ssh("lab-pve", "rm -r /etc/pve")
