"""The Servarr wiring operations against a stateful fake that validates every request and response
against Sonarr's published OpenAPI spec: a fresh app gets its root folders and qBittorrent client, a
second pass sends no write, drift is healed, the masked password is never written back as a value."""

from __future__ import annotations

import pytest
from pyinfra.api import FunctionCommand
from pyinfra.context import ctx_host, ctx_state

from mediabox.arr import MASK, Connection
from operations import arr
from tests.fakes.servarr import ServarrFake
from tests.test_operations import FakeHost, empty_state

KEY = "0123456789abcdef0123456789abcdef"
FOLDERS = ["/data/media/tv"]
FIELDS = {"host": "gluetun", "port": 8080, "useSsl": False, "username": "admin", "password": "qbt-secret",
          "tvCategory": "tv"}


@pytest.fixture
def sonarr():
    fake = ServarrFake("sonarr", api_key=KEY)
    url = fake.start()
    yield fake, Connection("Sonarr", url, KEY, ready_timeout_s=5)
    fake.stop()
    assert fake.invalid == [], fake.invalid


def apply(operation, **kwargs) -> tuple[int, str | None]:
    """Run an operation as pyinfra would: its body, then its FunctionCommands. Returns (commands, noop)."""
    fake_host = FakeHost({})
    with ctx_state.use(empty_state()), ctx_host.use(fake_host):
        commands = list(operation._inner(**kwargs))
    for command in commands:
        assert isinstance(command, FunctionCommand)
        command.function(*command.args, **command.kwargs)
    return len(commands), fake_host.noop_description


def test_fresh_app_gets_folders_and_client_then_no_writes(sonarr):
    fake, app = sonarr
    assert apply(arr.root_folders, app=app, paths=FOLDERS)[0] == 1
    assert apply(arr.download_client, app=app, name="qBittorrent", fields=FIELDS)[0] == 1
    assert [f["path"] for f in fake.root_folders] == FOLDERS
    stored = {f["name"]: f["value"] for f in fake.clients[0]["fields"]}
    assert stored["host"] == "gluetun" and stored["password"] == "qbt-secret" and stored["tvCategory"] == "tv"
    writes = len(fake.writes)
    assert apply(arr.root_folders, app=app, paths=FOLDERS) == (0, "Sonarr has its root folder(s) /data/media/tv")
    assert apply(arr.download_client, app=app, name="qBittorrent", fields=FIELDS)[0] == 0
    assert len(fake.writes) == writes


def test_drift_is_healed_and_the_mask_keeps_the_stored_password(sonarr):
    fake, app = sonarr
    apply(arr.root_folders, app=app, paths=FOLDERS)
    apply(arr.download_client, app=app, name="qBittorrent", fields=FIELDS)
    fake.root_folders.clear()
    next(f for f in fake.clients[0]["fields"] if f["name"] == "tvCategory")["value"] = "tv-sonarr"
    assert apply(arr.root_folders, app=app, paths=FOLDERS)[0] == 1
    assert apply(arr.download_client, app=app, name="qBittorrent", fields=FIELDS)[0] == 1
    stored = {f["name"]: f["value"] for f in fake.clients[0]["fields"]}
    assert stored["tvCategory"] == "tv" and stored["password"] == "qbt-secret"
    assert fake.writes[-1][0] == "PUT" and MASK not in str(stored)


def test_deleted_client_is_created_again(sonarr):
    fake, app = sonarr
    apply(arr.download_client, app=app, name="qBittorrent", fields=FIELDS)
    fake.clients.clear()
    assert apply(arr.download_client, app=app, name="qBittorrent", fields=FIELDS)[0] == 1
    assert len(fake.clients) == 1


def test_wrong_key_and_silent_app_name_the_app(sonarr):
    fake, _ = sonarr
    wrong = Connection("Sonarr", f"http://127.0.0.1:{fake._server.server_address[1]}", "f" * 32, ready_timeout_s=5)
    with pytest.raises(Exception, match="Sonarr at .* refuses the API key"):
        apply(arr.root_folders, app=wrong, paths=FOLDERS)
    silent = Connection("Radarr", "http://127.0.0.1:9", KEY, ready_timeout_s=1)
    with pytest.raises(Exception, match="Radarr at http://127.0.0.1:9 did not answer within 1 s"):
        apply(arr.root_folders, app=silent, paths=FOLDERS)
    assert KEY not in repr(wrong)
