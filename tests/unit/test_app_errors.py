"""How the wiring's connections meet a failing app, against the spec-validating Jellyfin fake with injected
faults: a passing 5xx is retried, a lasting one stops with the app, the call and where to look; and how they reach
the apps: directly, whatever proxy the environment names."""

from __future__ import annotations

import pytest
import requests

from lab.fakes.jellyfin import JellyfinFake
from lab.fakes.servarr import ServarrFake
from mediabox import arr
from mediabox.apps import AppError
from mediabox.jellyfin import Connection


@pytest.fixture(scope="module")
def jellyfin():
    fake = JellyfinFake()
    url = fake.start()
    yield fake, url
    fake.stop()
    assert fake.invalid == [], fake.invalid


def fault(url: str, status: int, times: int = -1) -> None:
    requests.post(f"{url}/__fake/fault", json={"status": status, "times": times}, timeout=5).raise_for_status()


def test_a_passing_500_is_retried(jellyfin):
    _, url = jellyfin
    connection = Connection(url, "admin", "secret", ready_timeout_s=10)
    connection.public_info()  # up and ready
    fault(url, 500, times=1)
    assert connection.public_info()["ProductName"] == "Jellyfin Server"


def test_a_lasting_500_names_the_app_the_call_and_the_logs(jellyfin):
    _, url = jellyfin
    connection = Connection(url, "admin", "secret", ready_timeout_s=10)
    connection.public_info()
    fault(url, 500)
    try:
        with pytest.raises(AppError) as raised:
            connection.startup("GET", "Configuration")
    finally:
        fault(url, 0)
    assert f"Jellyfin at {url}: GET /Startup/Configuration still failed with 500 after 10 s" in str(raised.value)
    assert "docker logs jellyfin" in str(raised.value) and "secret" not in str(raised.value)


def test_an_environment_proxy_never_carries_a_call_to_the_apps(jellyfin, monkeypatch):
    """The apps are reached directly (mediabox.apps.lan_session): HTTP_PROXY, meant for the internet, would send
    these calls to a proxy that is not there."""
    _, url = jellyfin
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(f"{url}/System/Info/Public", timeout=5)
    assert Connection(url, "admin", "secret", ready_timeout_s=5).public_info()["ProductName"] == "Jellyfin Server"
    sonarr_key = "0123456789abcdef0123456789abcdef"
    sonarr = ServarrFake("sonarr", api_key=sonarr_key, connection_checks=False)
    try:
        assert arr.Connection("Sonarr", sonarr.start(), sonarr_key, "v3", ready_timeout_s=5).get("/system/status")
    finally:
        sonarr.stop()
