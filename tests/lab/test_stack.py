"""The docker and stack stages for real in the lab's unprivileged guest: Debian's Docker, compose v2, the
8gb preset's project from the lab registry (real qBittorrent; stand-ins elsewhere), healthy; a second
run changes nothing; drift is healed in one run; the kill switch and the one /data root hold in the
running containers; appdata is snapshotted on the host before the stack changes, and only then."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

import lab.topology as topology
from mediabox.catalog import SERVICES
from tests.lab.conftest import KNOWN_HOSTS, SSH_KEY, deploy, ssh

GUEST = topology.DOCKER_GUEST["name"]
PVE = topology.PVE_HOST["name"]
STAGES = {"stages": "host,guests,docker,stack"}
EIGHT_GB = [svc.host_name for svc in SERVICES.values() if "8gb" in svc.profiles]


def containers() -> dict[str, dict]:
    lines = ssh(GUEST, "docker ps -a --filter label=com.docker.compose.project=mediabox --format '{{json .}}'")
    found = {}
    for line in lines.splitlines():
        item = json.loads(line)
        labels = dict(label.split("=", 1) for label in item["Labels"].split(",") if "=" in label)
        found[labels["com.docker.compose.service"]] = item
    return found


def snapshots() -> set[str]:
    return set(ssh(PVE, "ls /mnt/storage/snapshots").split())


@pytest.fixture(scope="module")
def stack(lab):
    first = deploy(STAGES)
    assert first.returncode == 0, first.output[-6000:]
    return first


def test_docker_engine_in_the_guest(stack):
    info = json.loads(ssh(GUEST, "docker info --format '{{json .}}'"))
    assert info["Driver"] == "overlay2" and info["LoggingDriver"] == "local"
    assert topology.REGISTRY in json.dumps(info["RegistryConfig"])
    daemon = json.loads(ssh(GUEST, "cat /etc/docker/daemon.json"))
    assert daemon["default-address-pools"] == [{"base": "172.24.0.0/14", "size": 24}]
    assert "Docker Compose version v2" in ssh(GUEST, "docker compose version")


def test_stack_comes_up_healthy_and_a_second_run_changes_nothing(stack):
    running = containers()
    assert sorted(running) == sorted(EIGHT_GB)
    for name, item in running.items():
        assert item["State"] == "running" and "(unhealthy)" not in item["Status"], (name, item["Status"])
    before = snapshots()
    again = deploy(STAGES)
    assert again.changed_nothing, again.output[-4000:]
    assert not again.changed("Compose project up and healthy")
    assert snapshots() == before, "a snapshot was taken though nothing changed"


def test_secrets_stay_in_0600_env_files(stack):
    secrets = yaml.safe_load(open(topology.SECRETS_FILE))
    compose_yaml = ssh(GUEST, "cat /opt/mediabox/compose.yaml")
    assert secrets["sonarr_api_key"] not in compose_yaml and secrets["vpn_wireguard_private_key"] not in compose_yaml
    modes = ssh(GUEST, "stat -c '%a %n' /opt/mediabox/env /opt/mediabox/env/*.env").split("\n")
    assert all(line.startswith(("600 ", "700 ")) for line in modes if line), modes
    assert secrets["sonarr_api_key"] in ssh(GUEST, "docker exec sonarr printenv SONARR__AUTH__APIKEY")


def test_kill_switch_in_the_running_stack(stack):
    gluetun_id = containers()["gluetun"]["ID"]
    for name in ("qbittorrent", "prowlarr", "autobrr"):
        mode = ssh(GUEST, f"docker inspect {name} --format '{{{{.HostConfig.NetworkMode}}}}'").strip()
        assert mode.startswith("container:") and gluetun_id.startswith(mode.split(":", 1)[1][:12]), (name, mode)
        ports = ssh(GUEST, f"docker inspect {name} --format '{{{{json .NetworkSettings.Ports}}}}'").strip()
        assert ports in ("{}", "null"), (name, ports)
    assert "tun0" in ssh(GUEST, "docker exec qbittorrent cat /proc/net/dev")
    assert "8080/tcp" in ssh(GUEST, "docker port gluetun")


def test_one_data_root_lets_sonarr_hard_link_what_qbittorrent_downloaded(stack):
    ssh(GUEST, "docker exec qbittorrent sh -c 'echo episode > /data/downloads/complete/tv/lab-episode.mkv'")
    try:
        ssh(GUEST, "docker exec sonarr ln /data/downloads/complete/tv/lab-episode.mkv /data/media/tv/lab-episode.mkv")
        links = ssh(GUEST, "stat -c %h /data/media/tv/lab-episode.mkv").strip()
        assert links == "2"
    finally:
        ssh(GUEST, "rm -f /data/downloads/complete/tv/lab-episode.mkv /data/media/tv/lab-episode.mkv")


def test_drift_is_healed_in_one_run_after_a_snapshot(stack):
    ssh(GUEST, "docker rm -f sonarr && docker stop radarr && echo '# edited by hand' >> /opt/mediabox/compose.yaml")
    before = snapshots()
    healed = deploy(STAGES)
    assert healed.returncode == 0, healed.output[-6000:]
    assert healed.changed("Compose project up and healthy")
    assert healed.changed("Snapshot of appdata before the stack changes")
    assert len(snapshots() - before) == 1
    running = containers()
    assert running["sonarr"]["State"] == "running" and running["radarr"]["State"] == "running"
    assert "# edited by hand" not in ssh(GUEST, "cat /opt/mediabox/compose.yaml")
    assert deploy(STAGES).changed_nothing


def test_no_snapshot_no_change(stack):
    """When the host cannot snapshot appdata (here: the snapshots subvolume is read-only), the guest's
    stack is left as it is."""
    ssh(PVE, "btrfs property set /mnt/storage/snapshots ro true")
    ssh(GUEST, "echo '# edited by hand' >> /opt/mediabox/compose.yaml")
    try:
        refused = deploy(STAGES)
        assert refused.returncode != 0
        assert refused.results["Snapshot of appdata before the stack changes"]["error"] == "1"
        assert "no snapshot of appdata was taken for lab-docker" in refused.output
        assert "# edited by hand" in ssh(GUEST, "cat /opt/mediabox/compose.yaml")
    finally:
        ssh(PVE, "btrfs property set /mnt/storage/snapshots ro false")
    healed = deploy(STAGES)
    assert healed.returncode == 0 and healed.changed("Compose project up and healthy"), healed.output[-4000:]


def test_an_update_that_never_becomes_healthy_is_rolled_back(stack):
    """Issue #7's acceptance 2. Sonarr's pin moves to an image that never answers Sonarr's health check (the
    lab's qBittorrent), and while it starts, a "migration" writes into Sonarr's appdata on the pool. The run
    fails, saying why; Sonarr's previous image runs again, healthy, its appdata is the snapshot's (what the
    migration wrote kept in a -before-restore snapshot), and the next run with the old pins changes nothing."""
    from inventory.lab import docker_guests
    pins = dict(docker_guests)[GUEST]["image_overrides"]
    old, new = pins["sonarr"], pins["qbittorrent"]
    pool = "/mnt/storage"
    taken = len(snapshots())
    migration = subprocess.Popen(  # waits for the run's snapshot, then writes as a new version would
        ["ssh", "-i", SSH_KEY, "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "BatchMode=yes",
         f"root@{topology.PVE_HOST['ip']}",
         f"for i in $(seq 600); do [ $(ls {pool}/snapshots | wc -l) -gt {taken} ] && "
         f"echo v5 > {pool}/appdata/sonarr/migrated-by-the-update && exit 0; sleep 0.5; done; exit 1"])
    try:
        update = deploy({**STAGES, "image_overrides": {**pins, "sonarr": new}, "stack_health_timeout_s": 30})
    finally:
        assert migration.wait(timeout=120) == 0
    assert update.returncode != 0
    assert update.results["Compose project up and healthy"]["error"] == "1"
    assert "did not become healthy within 30 s: sonarr" in update.output
    assert f"undoing sonarr {old} -> {new}" in update.output, update.output[-4000:]
    assert "The previous images run again, healthy" in update.output and "Traceback" not in update.output
    sonarr = ssh(GUEST, "docker inspect -f '{{.Config.Image}} {{.State.Health.Status}}' sonarr").split()
    assert sonarr == [old, "healthy"]
    assert ssh(PVE, f"ls {pool}/appdata/sonarr/migrated-by-the-update 2>/dev/null; true").strip() == ""
    kept = ssh(PVE, f"ls -d {pool}/snapshots/appdata-*-before-restore | tail -1").strip()
    assert ssh(PVE, f"cat {kept}/sonarr/migrated-by-the-update").strip() == "v5"
    assert deploy(STAGES).changed_nothing


def test_docker_repository_source_plans_its_key_repository_and_packages(stack, unchanged_hosts):
    """download.docker.com is unreachable from the lab, so the 'docker' source is checked as a --dry plan:
    the key, the repository and Docker's packages would be added, and nothing is written."""
    plan = deploy({"stages": "docker", "docker_source": "docker"}, "--dry")
    assert plan.returncode == 0, plan.output[-4000:]
    for operation in ("Docker's signing key", "Docker's apt repository", "Docker engine and compose"):
        assert plan.planned(operation), (operation, plan.output[-4000:])
    assert not plan.planned("Docker daemon.json")
    assert unchanged_hosts() == {ct["name"]: [] for ct in topology.CONTAINERS}
