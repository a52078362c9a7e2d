"""A Docker guest's stack: every enabled service running and healthy, nothing listening but SSH and the services'
own ports, qBittorrent's traffic bound to the VPN's interface inside gluetun's namespace, imports as hard links,
and Jellyfin given the render node exactly when transcoding uses it."""

from __future__ import annotations

import json
import shlex

import pytest

from mediabox.catalog import SERVICES
from mediabox.qbt import Connection
from tests.verify.conftest import assert_hard_linked, hard_link_probe


def inspect(guest, container: str) -> dict:
    found = guest.host.run(f"docker inspect {container}")
    assert found.rc == 0, f"no container {container}: {found.stderr}"
    return json.loads(found.stdout)[0]


def test_every_enabled_service_runs_and_is_healthy(guest):
    for svc in guest.settings.enabled_services():
        state = inspect(guest, svc.host_name)["State"]
        assert state["Status"] == "running", f"{svc.host_name} is {state['Status']}"
        health = state.get("Health", {}).get("Status")
        assert health in (None, "healthy"), f"{svc.host_name} is {health}: {state['Health']['Log'][-1:]}"


def test_only_ssh_and_the_services_ports_are_open(guest):
    s = guest.settings
    expected = {22} | {s.port(svc) for svc in s.enabled_services() if s.port(svc)}
    listening = set()
    for line in guest.host.check_output("ss -ltnH").splitlines():
        address, _, port = line.split()[3].rpartition(":")
        if address not in ("127.0.0.1", "[::1]") and not address.startswith("127."):
            listening.add(int(port))
    assert listening == expected, f"open: {sorted(listening - expected)}; not listening: {sorted(expected - listening)}"


def test_qbittorrent_traffic_goes_only_through_the_vpn_interface(guest, secrets):
    s = guest.settings
    if not (s.enabled("qbittorrent") and s.enabled("gluetun")):
        pytest.skip("qBittorrent or gluetun is not enabled")
    mode = inspect(guest, "qbittorrent")["HostConfig"]["NetworkMode"]
    assert mode == f"container:{inspect(guest, 'gluetun')['Id']}", f"qBittorrent's network is {mode}, not gluetun's"
    interface = s.qbittorrent_vpn_interface
    flags = guest.host.run(f"docker exec qbittorrent cat /sys/class/net/{interface}/flags")
    assert flags.rc == 0, f"no {interface} in qBittorrent's namespace: the VPN is down"
    assert int(flags.stdout.strip(), 16) & 1, f"{interface} is down in qBittorrent's namespace"
    url = f"http://{s.guest_ip.ip}:{s.port(SERVICES['qbittorrent'])}"
    bound = Connection(url, s.apps_admin_user, secrets["qbittorrent_password"]).client.app_preferences()
    assert bound["current_network_interface"] == interface, \
        f"qBittorrent is bound to {bound['current_network_interface']!r}, not {interface}"


def test_imports_are_hard_links_inside_the_stack(guest):
    s = guest.settings
    importer = next((name for name in ("sonarr", "radarr", "lidarr", "qbittorrent") if s.enabled(name)), None)
    if importer is None:
        pytest.skip("no app that imports downloads is enabled")
    assert_hard_linked(guest.host.run(f"docker exec {importer} sh -c {shlex.quote(hard_link_probe('/data'))}"))


def test_jellyfin_has_the_render_node_when_it_transcodes_with_it(guest):
    s = guest.settings
    if not s.enabled("jellyfin"):
        pytest.skip("Jellyfin is not enabled")
    devices = inspect(guest, "jellyfin")["HostConfig"]["Devices"] or []
    if s.jellyfin_hwaccel == "none":
        assert devices == [], f"Jellyfin transcodes in software but is given {devices}"
        return
    node = guest.host.run("docker exec jellyfin sh -c 'test -c /dev/dri/renderD128 && test -r /dev/dri/renderD128'")
    assert node.rc == 0, "Jellyfin cannot read /dev/dri/renderD128"
