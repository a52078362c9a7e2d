"""Health in the Docker guest (issue #7): a timer checks that every container of the stack runs and none is
unhealthy, and a failure reaches notify_url with the job's own words; Homepage shows each service's state
(siteMonitor) and the pool's free space. The host's checks (scrub, disk space, device errors, SMART) are
test_host.py's."""

from __future__ import annotations

import yaml

import lab.topology as topology
from tests.conftest import write_secrets
from tests.lab.conftest import deploy, ssh

GUEST = topology.DOCKER_GUEST["name"]
STACK = {"stages": "stack,wire"}


def test_an_unhealthy_stack_is_reported_to_notify_url(lab, notify_inbox, tmp_path):
    secrets = yaml.safe_load(open(topology.SECRETS_FILE))
    with_url = write_secrets(tmp_path / "secrets.yml", {**secrets, "notify_url": notify_inbox.url})
    first = deploy({**STACK, "secrets_file": str(with_url)})
    assert first.returncode == 0, first.output[-6000:]
    try:
        assert ssh(GUEST, "systemctl is-enabled mediabox-containers.timer; systemctl is-active "
                          "mediabox-containers.timer").split() == ["enabled", "active"]
        assert ssh(GUEST, "stat -c %a /etc/mediabox/notify.env").strip() == "600"
        ssh(GUEST, "systemctl start mediabox-containers.service")  # a healthy stack passes
        assert notify_inbox.received == []
        ssh(GUEST, "docker stop radarr >/dev/null; systemctl start mediabox-containers.service || true")
        body = notify_inbox.wait_for("mediabox-containers.service failed")
        assert body.startswith(f"mediabox on {topology.DOCKER_GUEST['hostname']}: ")
        assert body.endswith("not healthy: radarr exited")
    finally:
        healed = deploy(STACK)
    assert healed.returncode == 0 and healed.changed("Maintenance script, settings and units"), healed.output[-4000:]
    assert ssh(GUEST, "docker inspect -f '{{.State.Health.Status}}' radarr").strip() == "healthy"


def test_homepage_shows_each_services_state_and_the_pools_free_space(lab):
    done = deploy(STACK)
    assert done.returncode == 0, done.output[-4000:]
    services = yaml.safe_load(ssh(GUEST, "cat /appdata/homepage/services.yaml"))
    entries = {name: entry for group in services for items in group.values() for item in items
               for name, entry in item.items()}
    assert entries["Sonarr"]["siteMonitor"] == "http://sonarr:8989"
    assert entries["qBittorrent"]["siteMonitor"] == "http://gluetun:8080"
    widgets = yaml.safe_load(ssh(GUEST, "cat /appdata/homepage/widgets.yaml"))
    assert {"resources": {"label": "Pool", "disk": "/data", "expanded": True}} in widgets
    mounts = ssh(GUEST, "docker inspect -f '{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}' homepage").split()
    assert "/data:false" in mounts
