"""The lab itself: `lab up` on a running lab is a no-op, and both hosts answer as the settings say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import lab.topology as topology
from lab.checks import KEYCTL
from tests.lab.conftest import REPO, ssh

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def test_lab_up_again_changes_nothing(lab):
    done = subprocess.run([sys.executable, "-m", "lab", "up"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line for line in done.stdout.splitlines() if re.match(r"^\[[\w-]+\] ", line)]
    assert len(steps) >= 8
    changed = [line for line in steps if not line.startswith("[up]") and "] ok" not in line]
    assert changed == [], "\n".join(changed)


def test_guest_is_unprivileged_with_nesting_and_keyctl(lab):
    guest = topology.DOCKER_GUEST["name"]
    uid_map = ssh(guest, "cat /proc/self/uid_map").split()
    assert uid_map[:3] == ["0", "100000", "65536"]
    assert ssh(guest, "hostname").strip() == topology.DOCKER_GUEST["hostname"]
    assert ssh(guest, KEYCTL).strip() == "keyctl ok"  # what runc needs; PVE's keyctl=1 allows it


def test_proxmox_stand_in_sees_its_disks_by_id(lab):
    host = topology.PVE_HOST["name"]
    for disk in topology.DISKS:
        assert ssh(host, f"test -b {disk['by_id']} && readlink -f {disk['by_id']}").startswith("/dev/loop")
    assert ssh(host, "test -c /dev/btrfs-control && echo yes").strip() == "yes"


def registry_get(path: str, accept: str | None = None) -> dict:
    """GET a JSON document from the lab's registry (never through a proxy from the environment)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(topology.REGISTRY_URL + path, headers={"Accept": accept} if accept else {})
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def test_registry_serves_the_lab_images_with_healthchecks(lab):
    assert lab["registry"]["up"], lab["registry"]
    repositories = registry_get("/v2/_catalog")["repositories"]
    configs = {}
    for name, ref in topology.LAB_IMAGES.items():
        repository, tag = ref.removeprefix(topology.REGISTRY + "/").rsplit(":", 1)
        assert repository == f"mediabox-lab/{name}" and repository in repositories
        manifest = registry_get(f"/v2/{repository}/manifests/{tag}", MANIFEST_V2)
        assert manifest["mediaType"] == MANIFEST_V2 and len(manifest["layers"]) == 1
        config = registry_get(f"/v2/{repository}/blobs/{manifest['config']['digest']}")["config"]
        assert config["Healthcheck"]["Test"][0] in ("CMD", "CMD-SHELL") and config["Healthcheck"]["Retries"] == 3
        configs[name] = config
    assert set(configs) == {"qbittorrent", "redis", "appfake", "standin"}
    env = dict(item.split("=", 1) for item in configs["standin"]["Env"])
    assert {"8989", "8096"} <= set(env["STANDIN_PORTS"].split(","))
    assert "WEBUI_PORT=8080" in configs["qbittorrent"]["Env"]
    assert configs["appfake"]["Entrypoint"] == ["python3", "-m", "fakes"]
    assert "MEDIABOX_SPECS=/opt/appfake/specs" in configs["appfake"]["Env"]
