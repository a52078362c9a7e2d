"""The wire stage against the lab's real qBittorrent (qbittorrent-nox, behind the VPN stand-in's network):
it logs in with the password seeded into qBittorrent.conf before its first start, sets the preferences
and categories, changes nothing on a second run, heals drift in one run, never shows the password, and
stops with a clear message (without retrying) on a wrong password."""

from __future__ import annotations

import pytest
import yaml

import lab.topology as topology
from mediabox.qbt import Connection
from tests.conftest import write_secrets
from tests.lab.conftest import deploy, ssh

GUEST = topology.DOCKER_GUEST["name"]
STAGES = {"stages": "host,guests,docker,stack,wire"}
WIRE = {"stages": "wire"}
URL = f"http://{topology.DOCKER_GUEST['ip']}:8080"
CATEGORIES = {name: f"/data/downloads/complete/{name}" for name in ("tv", "movies", "music", "books", "comics")}


@pytest.fixture(scope="module")
def secrets(lab):
    return yaml.safe_load(open(topology.SECRETS_FILE))


@pytest.fixture(scope="module")
def wired(lab, secrets):
    first = deploy(STAGES)
    assert first.returncode == 0, first.output[-6000:]
    return first


def qbittorrent(secrets):
    return Connection(URL, "admin", secrets["qbittorrent_password"]).client


def test_seeded_password_logs_in_and_the_default_does_not(wired, secrets):
    assert qbittorrent(secrets).app_version()
    conf = ssh(GUEST, "cat /appdata/qbittorrent/qBittorrent/qBittorrent.conf")
    assert "WebUI\\Password_PBKDF2" in conf and secrets["qbittorrent_password"] not in conf
    # qBittorrent rewrites its config with its own umask (664); the seeded folder keeps others out of it.
    assert ssh(GUEST, "stat -c %a /appdata/qbittorrent/qBittorrent").strip().endswith("750")


def test_preferences_and_categories_are_set_and_a_second_run_changes_nothing(wired, secrets):
    client = qbittorrent(secrets)
    prefs = client.app_preferences()
    assert prefs["save_path"].rstrip("/") == "/data/downloads/complete" and prefs["temp_path_enabled"]
    assert prefs["current_network_interface"] == "tun0" and prefs["listen_port"] == 6881 and not prefs["upnp"]
    assert {name: item["savePath"].rstrip("/") for name, item in client.torrents_categories().items()} == CATEGORIES
    before = ssh(GUEST, "stat -c %Y /appdata/qbittorrent/qBittorrent/categories.json")
    again = deploy(WIRE)
    assert again.changed_nothing, again.output[-4000:]
    assert ssh(GUEST, "stat -c %Y /appdata/qbittorrent/qBittorrent/categories.json") == before
    assert secrets["qbittorrent_password"] not in wired.output + again.output


def test_drift_is_healed_in_one_run(wired, secrets):
    client = qbittorrent(secrets)
    client.torrents_remove_categories(categories="tv")
    client.app_set_preferences(prefs={"listen_port": 51413, "upnp": True})
    healed = deploy(WIRE)
    assert healed.changed("qBittorrent categories") and healed.changed("qBittorrent preferences"), healed.output
    assert client.torrents_categories()["tv"]["savePath"].rstrip("/") == CATEGORIES["tv"]
    assert client.app_preferences()["listen_port"] == 6881
    assert deploy(WIRE).changed_nothing


def test_wrong_password_stops_with_the_fix_and_no_retry(wired, secrets, tmp_path):
    wrong = write_secrets(tmp_path / "secrets.yml", {**secrets, "qbittorrent_password": "not-the-password"})
    result = deploy({**WIRE, "secrets_file": str(wrong)})
    assert result.returncode != 0
    assert f"qBittorrent at {URL} refuses user admin" in result.output and "Nothing was retried" in result.output
    assert "not-the-password" not in result.output
