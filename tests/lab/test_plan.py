"""`pyinfra --dry` over the whole deploy as a plan (issue #7's acceptance 4): with drift injected at each layer of
the converged lab (a Proxmox config key, a compose key, a qBittorrent preference, a Sonarr setting), the plan lists
exactly those items, old -> new, and nothing is written anywhere; a real run then heals them."""

from __future__ import annotations

import os
import re
import time

import pytest
import requests
import yaml
from proxmoxer import ProxmoxAPI

import lab.topology as topology
from mediabox.qbt import Connection
from tests.lab.conftest import deploy, ssh

GUEST, PVE = topology.DOCKER_GUEST["name"], topology.PVE_HOST["name"]
COMPOSE = "/opt/mediabox/compose.yaml"
SONARR = f"http://{topology.DOCKER_GUEST['ip']}:8989"
PLAN_LINE = re.compile(r"^\s*\[([\w-]+)\]\s+plan: (.*)$")


@pytest.fixture(scope="module")
def secrets(lab):
    converged = deploy()
    assert converged.returncode == 0, converged.output[-6000:]
    return yaml.safe_load(open(topology.SECRETS_FILE))


def proxmox(secrets) -> ProxmoxAPI:
    user, token = secrets["pve_token_id"].split("!")
    return ProxmoxAPI(topology.PVE_API["host"], port=topology.PVE_API["port"], user=user, token_name=token,
                      token_value=secrets["pve_token_secret"],
                      verify_ssl=os.path.join(topology.PVE_DIR, "fakepve.crt"))


def sonarr(secrets, method: str, path: str, **kwargs):
    response = requests.request(method, f"{SONARR}/api/v3{path}", headers={"X-Api-Key": secrets["sonarr_api_key"]},
                                timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def fake_writes() -> int:
    return len(requests.get(f"{SONARR}/__fake/state", timeout=10).json()["writes"])


def plan_lines(output: str) -> set[str]:
    return {f"[{m[1]}] {m[2].strip()}" for m in map(PLAN_LINE.match, output.splitlines()) if m}


def test_dry_lists_exactly_the_drifted_items_and_writes_nothing(secrets, unchanged_hosts):
    container = proxmox(secrets).nodes(topology.PVE_HOST["node"]).lxc(topology.DOCKER_GUEST["vmid"])
    container.config.put(cores=1, digest=container.config.get()["digest"])
    project = yaml.safe_load(ssh(GUEST, f"cat {COMPOSE}"))
    project["services"]["sonarr"]["restart"] = "always"
    ssh(GUEST, f"cat > {COMPOSE} <<'EOF'\n{yaml.safe_dump(project, sort_keys=False)}EOF")
    qbittorrent = Connection(f"http://{topology.DOCKER_GUEST['ip']}:8080", "admin",
                             secrets["qbittorrent_password"]).client
    qbittorrent.app_set_preferences(prefs={"listen_port": 51413})
    media = sonarr(secrets, "GET", "/config/mediamanagement")
    sonarr(secrets, "PUT", f"/config/mediamanagement/{media['id']}", json={**media, "copyUsingHardlinks": False})
    written, drifted = fake_writes(), time.time()

    plan = deploy(None, "--dry")
    assert plan.returncode == 0, plan.output[-6000:]
    vmid = topology.DOCKER_GUEST["vmid"]
    assert plan_lines(plan.output) == {
        f"[{PVE}] container {vmid}: cores: 1 -> 2",
        f"[{PVE}] read-only snapshot of /mnt/storage/appdata before {GUEST}'s stack changes",
        f"[{GUEST}] {COMPOSE}: services.sonarr.restart: always -> unless-stopped",
        f"[{GUEST}] qBittorrent preferences: listen_port: 51413 -> 6881",
        f"[{GUEST}] Sonarr mediamanagement settings: copyUsingHardlinks: False -> True",
    }, plan.output[-6000:]

    assert unchanged_hosts(drifted) == {ct["name"]: [] for ct in topology.CONTAINERS}
    assert fake_writes() == written and qbittorrent.app_preferences()["listen_port"] == 51413
    assert int(dict(container.config.get())["cores"]) == 1
    assert "restart: always" in ssh(GUEST, f"cat {COMPOSE}")

    healed = deploy()
    assert healed.returncode == 0, healed.output[-6000:]
    assert plan_lines(healed.output) >= plan_lines(plan.output)
    assert qbittorrent.app_preferences()["listen_port"] == 6881
    assert sonarr(secrets, "GET", "/config/mediamanagement")["copyUsingHardlinks"] is True
    assert int(dict(container.config.get())["cores"]) == 2
